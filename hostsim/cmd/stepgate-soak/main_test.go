package main

import (
	"io"
	"strings"
	"testing"
)

func TestVerdictFailsPastTheBounds(t *testing.T) {
	o, err := parseFlags([]string{"-max-rss-growth-mb", "10", "-max-vm-growth-mb", "2"})
	if err != nil {
		t.Fatal(err)
	}
	start := sample{rss: 100 << 20, vm: 10 << 20}
	for _, tc := range []struct {
		end      sample
		failures int64
		want     string
	}{
		{sample{rss: 109 << 20, vm: 11 << 20}, 0, ""},
		{sample{rss: 111 << 20, vm: 10 << 20}, 0, "RSS grew by 11.0 MB"},
		{sample{rss: 100 << 20, vm: 13 << 20}, 0, "VM memory grew by 3.0 MB"},
		{sample{rss: 100 << 20, vm: 10 << 20}, 2, "2 requests failed without an answer"},
	} {
		s := &soak{statuses: map[int]int64{0: tc.failures}}
		err := s.verdict(io.Discard, o, []sample{start, tc.end})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v, want a pass", tc.end, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want %q", tc.end, err, tc.want)
		}
	}
	for _, bad := range [][]string{{"-clients", "0"}, {"-duration", "0s"}, {"extra"}, {"-nope"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}
