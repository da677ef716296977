package hostsim

import (
	"errors"
	"syscall"
)

// connectFailure is the body of the 503 Envoy's router answers, before any upstream header,
// when it cannot reach the upstream: "reset reason" names the stream reset, and a connection
// the upstream refused is a remote connection failure whose transport failure reason is the
// socket error as strerror spells it (Envoy's ConnectionImpl: "delayed connect error: ...").
func connectFailure(err error) string {
	const prefix = "upstream connect error or disconnect/reset before headers. reset reason: "
	if errors.Is(err, syscall.ECONNREFUSED) {
		return prefix + "remote connection failure, transport failure reason: delayed connect error: Connection refused"
	}
	return prefix + "connection failure"
}
