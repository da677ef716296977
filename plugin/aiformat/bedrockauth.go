package aiformat

import (
	"fmt"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/bedrock"
	"github.com/stepgate/stepgate/plugin/aiformat/sigv4"
	"github.com/tidwall/gjson"
)

// bedrockFields are the configuration fields of type bedrock: the region and the AWS
// credentials the filter signs with.
var bedrockFields = []string{"region", "access_key_id", "secret_access_key", "session_token"}

// awsAuth is what a SigV4-signed provider signs with.
type awsAuth struct {
	creds  sigv4.Credentials
	region string
}

func parseBedrock(pr *Provider, v gjson.Result, path string) error {
	if len(pr.APIKeys) > 0 {
		return fmt.Errorf("%s.api_keys: not used by type bedrock: requests are signed with access_key_id and secret_access_key", path)
	}
	a := &awsAuth{}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"region", &a.region}, {"access_key_id", &a.creds.AccessKeyID}, {"secret_access_key", &a.creds.SecretAccessKey}} {
		s, err := str(v, path, f.name, "")
		if err != nil {
			return err
		}
		if s == "" {
			return fmt.Errorf("%s.%s: required for type bedrock", path, f.name)
		}
		*f.dst = s
	}
	if strings.ContainsAny(a.region, "/ ") {
		return fmt.Errorf("%s.region: %q is not an AWS region name", path, a.region)
	}
	tok, err := str(v, path, "session_token", "")
	if err != nil {
		return err
	}
	a.creds.SessionToken = tok
	pr.aws = a
	return nil
}

// sign adds the SigV4 headers to a routed request: x-amz-date and x-amz-content-sha256 (both
// signed, with content-type, host and a session token's x-amz-security-token) and
// authorization. The time is the filter's clock, so hostsim's virtual clock signs in tests.
func (r *Router) sign(up *Upstream, now int64) {
	pr := up.Provider
	s := r.signer(pr)
	date := sigv4.AmzDate(now)
	hash := sigv4.PayloadHash(up.Body)
	signed := [5][2]string{{"content-type", "application/json"}, {"host", up.Authority},
		{"x-amz-content-sha256", hash}, {"x-amz-date", date}, {"x-amz-security-token", s.Creds.SessionToken}}
	hs := signed[:4]
	if s.Creds.SessionToken != "" {
		hs = signed[:5]
	}
	req := sigv4.Request{Method: "POST", Path: up.Path, Headers: hs, PayloadHash: hash}
	up.SetHeaders = append(up.SetHeaders, [2]string{"authorization", s.Sign(&req, date)})
	up.SetHeaders = append(up.SetHeaders, hs[2:]...)
}

// signer is the provider's signer on this VM, which keeps its derived key for the day.
func (r *Router) signer(pr *Provider) *sigv4.Signer {
	if pr.index >= 0 && pr.index < len(r.signers) && r.cfg.Providers[pr.index] == pr {
		if s := r.signers[pr.index]; s != nil {
			return s
		}
		s := newSigner(pr)
		r.signers[pr.index] = s
		return s
	}
	return newSigner(pr) // not one of this router's providers
}

func newSigner(pr *Provider) *sigv4.Signer {
	return &sigv4.Signer{Creds: pr.aws.creds, Region: pr.aws.region, Service: bedrock.Service}
}
