package hostsim_test

import (
	"testing"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// Envoy keeps shared queues per process, keyed by (vm_id, name): a plugin on vm_id "sender"
// resolves the queue a plugin on vm_id "receiver" registered, and each enqueue posts
// on_queue_ready to the receiver's root context. Here the receiver is a singleton bootstrap
// service (one VM) and the sender runs on two workers.
func TestSharedQueueAcrossHosts(t *testing.T) {
	wasm := hostsimtest.Plugin(t, "queues")
	recv, _ := hostsimtest.Start(t, hostsim.Config{Module: wasm, VMID: "receiver", RootID: "receiver",
		PluginConfig: []byte("receiver headers"), Singleton: true, Workers: 4})
	wantEqual(t, "singleton workers", recv.Workers(), 1)
	send, _ := hostsimtest.Start(t, hostsim.Config{Module: wasm, VMID: "sender", RootID: "sender",
		PluginConfig: []byte("sender receiver headers"), Workers: 2, SharedWith: recv})

	for _, p := range []string{"/a", "/b", "/c"} {
		hostsimtest.Send(send, hostsimtest.Exchange{Path: p})
	}
	wantStrings(t, "receiver log", hostsimtest.Messages(recv),
		[]string{"queues: received /a", "queues: received /b", "queues: received /c"})
	hostsimtest.NoLog(t, send, "queues:")

	// Host.Enqueue stands for any other VM of the process.
	if !send.Enqueue("receiver", "headers", []byte("direct")) {
		t.Fatal("Enqueue found no queue")
	}
	hostsimtest.WantLog(t, recv, "queues: received direct")
}

// Without SharedWith the hosts are separate processes: the queue does not resolve.
func TestSharedQueueNotAcrossProcesses(t *testing.T) {
	wasm := hostsimtest.Plugin(t, "queues")
	hostsimtest.Start(t, hostsim.Config{Module: wasm, VMID: "receiver", PluginConfig: []byte("receiver headers")})
	send, _ := hostsimtest.Start(t, hostsim.Config{Module: wasm, VMID: "sender", PluginConfig: []byte("sender receiver headers")})
	hostsimtest.Send(send, hostsimtest.Exchange{Path: "/a"})
	hostsimtest.WantLog(t, send, "queues: no queue receiver/headers: error status returned by host: not found")
}
