package report

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints the short terminal summary.
func WriteText(w io.Writer, s *Summary) error {
	var b strings.Builder
	in := &s.Input
	if s.Requests == 0 {
		fmt.Fprintf(&b, "stepgate-report: no call records (%d lines read)\n", in.Lines)
	} else {
		fmt.Fprintf(&b, "stepgate-report: %d calls from %s to %s (buckets of %s)\n", s.Requests,
			s.From.Format("2006-01-02 15:04"), s.To.Format("2006-01-02 15:04 UTC"), s.BucketWidth)
	}
	fmt.Fprintf(&b, "input: %d lines, %d records, %d skipped (no record), %d bad (%d malformed, %d too long), %d unknown fields, %d out of order",
		in.Lines, in.Records, in.Skipped, in.Bad(), in.Malformed, in.TooLong, in.UnknownFields, in.OutOfOrder)
	if in.ReadErrors > 0 {
		fmt.Fprintf(&b, ", %d read errors", in.ReadErrors)
	}
	b.WriteString("\n")
	if s.Requests > 0 {
		b.WriteString("steps:")
		for _, n := range stepNames {
			fmt.Fprintf(&b, " %s %s", n, pct(float64(s.Steps[n])/float64(s.Requests)))
		}
		fmt.Fprintf(&b, "\nerrors: %s of calls (", pct(s.ErrorRate))
		for i, n := range errorNames {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", n, s.Errors[n])
		}
		fmt.Fprintf(&b, ")\ntokens: %d in, %d out\n", s.TokensIn, s.TokensOut)
		fmt.Fprintf(&b, "latency p50/p95/p99: %s / %s / %s; first byte: %s / %s / %s\n",
			ms(s.LatencyMs.P50), ms(s.LatencyMs.P95), ms(s.LatencyMs.P99), ms(s.TTFBMs.P50), ms(s.TTFBMs.P95), ms(s.TTFBMs.P99))
		for _, d := range []string{"model", "tenant"} {
			fmt.Fprintf(&b, "top %ss:", d)
			for i, r := range s.Top[d] {
				if i == 5 {
					break
				}
				fmt.Fprintf(&b, " %s (%d)", r.Name, r.Requests)
			}
			b.WriteString("\n")
		}
	}
	if len(s.Findings) > 0 {
		b.WriteString("findings:\n")
		for _, f := range s.Findings {
			fmt.Fprintf(&b, "  - %s\n", f.Text)
		}
	} else if s.Requests > 0 {
		b.WriteString("findings: none (no notable change between the first and the last third of the period)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
