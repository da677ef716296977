package governance

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// consumersConfig is a configuration with n consumers of one tenant, one key each:
// key "sk-bench-<i>".
func consumersConfig(n int) string {
	var b strings.Builder
	b.WriteString(`{"routes":{"api":{"path_prefix":"/api/","auth":{}}},"tenants":{"t":{}},"consumers":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"c%d":{"tenant":"t","keys":[{"id":"k%d","sha256":"%s"}]}`, i, i, Hash(fmt.Sprintf("sk-bench-%d", i)))
	}
	b.WriteString("}}")
	return b.String()
}

// BenchmarkAuthenticate is the auth step with 10 000 configured consumers: find the key in the
// headers, hash it, look it up, check expiry and route.
func BenchmarkAuthenticate(b *testing.B) {
	c, err := ParseConfig(gjson.Parse(consumersConfig(10000)))
	if err != nil {
		b.Fatal(err)
	}
	r := c.MatchRoute("/api/items")
	h := headers{"authorization": "Bearer sk-bench-4242"}
	b.ReportAllocs()
	for b.Loop() {
		if id, d := c.Authenticate(r, h, "/api/items", 0); d != nil || id.Key.ID != "k4242" {
			b.Fatal(d)
		}
	}
}

// BenchmarkParseConsumers is plugin start with 10 000 consumers.
func BenchmarkParseConsumers(b *testing.B) {
	doc := gjson.Parse(consumersConfig(10000))
	for b.Loop() {
		if _, err := ParseConfig(doc); err != nil {
			b.Fatal(err)
		}
	}
}
