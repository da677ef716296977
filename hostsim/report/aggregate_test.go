package report

import (
	"testing"
	"time"
)

// The bucket width grows with the span, and the buckets always add up to the totals.
func TestBucketWidthAdaptsToTheSpan(t *testing.T) {
	tests := []struct {
		span  time.Duration
		width string
	}{
		{90 * time.Minute, "1m"},
		{10 * time.Hour, "5m"},
		{2 * 24 * time.Hour, "15m"},
		{8 * 24 * time.Hour, "1h"},
		{40 * 24 * time.Hour, "6h"},
		{200 * 24 * time.Hour, "1d"},
		{3 * 365 * 24 * time.Hour, "7d"},
	}
	for _, tt := range tests {
		a := NewAggregator()
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
		step := tt.span.Milliseconds() / 5000
		for i := range int64(5000) {
			a.Add(&Record{TsMs: start + i*step, Status: 200, LatencyMs: 10})
		}
		if len(a.buckets) > maxBuckets {
			t.Errorf("%v: %d buckets", tt.span, len(a.buckets))
		}
		s := a.Summary()
		if s.BucketWidth != tt.width {
			t.Errorf("span %v: bucket width %s, want %s", tt.span, s.BucketWidth, tt.width)
		}
		var n int64
		for _, p := range s.Series {
			n += p.Requests
		}
		if n != 5000 || s.Requests != 5000 {
			t.Errorf("span %v: series add up to %d of %d", tt.span, n, s.Requests)
		}
	}
}

// Values past the caps are added up as "(other)": memory stays bounded whatever the input.
func TestDimensionValuesAreCapped(t *testing.T) {
	a := NewAggregator()
	for i := range maxTableValues + 50 {
		a.Add(&Record{TsMs: 1764158400000 + int64(i), Tenant: "t" + itoa(i), KeyID: "k" + itoa(i), Status: 200})
	}
	if len(a.series[dimTenant]) != maxSeriesValues || len(a.tables[dimKey]) != maxTableValues+1 {
		t.Errorf("series %d, key table %d", len(a.series[dimTenant]), len(a.tables[dimKey]))
	}
	if e := a.tables[dimKey][otherName]; e == nil || e.cell.N != 50 {
		t.Errorf("(other) = %+v", e)
	}
}

func itoa(i int) string { return time.Duration(i).String() }

func TestNoisiestMinutes(t *testing.T) {
	a := NewAggregator()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for m := range int64(200) {
		for range m % 17 { // minute 16, 33, … have 16 calls
			a.Add(&Record{TsMs: base + m*60e3, Status: 200})
		}
	}
	a.Add(&Record{TsMs: base + 16*60e3 + 5, Status: 200}) // late: after 180 more minutes
	top := a.Summary().NoisyMinute
	if len(top) != topMinutes || top[0].Calls != 17 || top[0].StartMs != base+16*60e3 || top[1].Calls != 16 {
		t.Errorf("top minutes %+v", top)
	}
}
