package cfgjson

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestReaders(t *testing.T) {
	long := `"` + strings.Repeat("x", 70) + `"`
	var b bool
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"root field", KnownFields(gjson.Parse(`{"a":1,"b":2}`), "", "a"), `b: unknown field`},
		{"nested field", KnownFields(gjson.Parse(`{"a":1,"b":2}`), "x.y", "a"), `x.y.b: unknown field`},
		{"known fields", KnownFields(gjson.Parse(`{"a":1}`), "x", "a"), ``},
		{"not an object", Object(gjson.Parse(`[]`), "x"), `x: must be an object, got []`},
		{"clipped value", Object(gjson.Parse(long), "x"), `x: must be an object, got "` + strings.Repeat("x", 56) + `...`},
		{"any field", Object(gjson.Parse(`{"z":1}`), "x"), ``},
		{"allowed fields", Object(gjson.Parse(`{"z":1}`), "x", "a"), `x.z: unknown field`},
		{"not a bool", Bool(gjson.Parse(`{"on":"yes"}`), "x", "on", &b), `x.on: must be true or false, got "yes"`},
		{"absent bool", Bool(gjson.Parse(`{}`), "x", "on", &b), ``},
	}
	for _, tt := range tests {
		got := ""
		if tt.err != nil {
			got = tt.err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	if err := Bool(gjson.Parse(`{"on":true}`), "", "on", &b); err != nil || !b {
		t.Errorf("Bool: got %v, %v; want true, nil", b, err)
	}
}
