package fleet

import (
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// BenchmarkDecide: one keyed rule, decided natively over an in-memory store: a fleet rule with its
// lease in hand against the same rule kept local.
func BenchmarkDecide(b *testing.B) {
	q := &throttle.Request{Tenant: "acme"}
	b.Run("local-rule", func(b *testing.B) {
		root := gjson.Parse(`{"rules":[{"name":"r","key":"tenant","rate":"1000000000/hour","burst":1000000000}]}`)
		cfg, err := throttle.ParseConfig(root, "throttle")
		if err != nil {
			b.Fatal(err)
		}
		th, err := throttle.New(cfg, shareddata.NewMemory())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			th.Decide(t0+int64(i)*int64(time.Microsecond), q)
		}
	})
	b.Run("fleet-rule", func(b *testing.B) {
		f := newFleet(b, `{"throttle":{"rules":[{"name":"r","key":"tenant","rate":"1000000000/hour","scope":"fleet",
		  "fleet":{"min_block":100000000,"max_block":100000000}}]}}`, shareddata.NewMemory())
		s := newService(1e9, time.Hour)
		decide(f, s, t0, q)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if d := f.Decide(t0+int64(i)*int64(time.Microsecond), q, 0); d.Wait {
				b.Fatal("waited with a lease in hand")
			}
		}
	})
}
