package config

import (
	"math"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
)

// object checks that v is a JSON object holding no field outside allowed. The sections of the
// top-level document quote a wrong value whole (cfgjson.Object clips it).
func object(v gjson.Result, path string, allowed ...string) error {
	if !v.IsObject() {
		return cfgjson.Errorf(path, "must be an object, got %s", v.Raw)
	}
	return cfgjson.KnownFields(v, path, allowed...)
}

// boolField is cfgjson.Bool quoting a wrong value whole.
func boolField(v gjson.Result, path, name string, dst *bool) error {
	f := v.Get(name)
	if !f.Exists() {
		return nil
	}
	if !f.IsBool() {
		return cfgjson.Errorf(cfgjson.Join(path, name), "must be true or false, got %s", f.Raw)
	}
	*dst = f.Bool()
	return nil
}

func wholeNumber(v gjson.Result) (int64, bool) {
	if v.Type != gjson.Number || v.Num != math.Trunc(v.Num) || math.Abs(v.Num) > 1<<53 {
		return 0, false
	}
	return int64(v.Num), true
}
