package config

import (
	"fmt"
	"math"
	"slices"

	"github.com/tidwall/gjson"
)

// object checks that v is a JSON object holding no field outside allowed.
func object(v gjson.Result, path string, allowed ...string) error {
	if !v.IsObject() {
		return fmt.Errorf("%s: must be an object, got %s", path, v.Raw)
	}
	return knownFields(v, path, allowed...)
}

// knownFields names the first field of v that is not in allowed. A typo in a field name would
// otherwise be silently ignored and the operator would wonder why a setting has no effect.
func knownFields(v gjson.Result, path string, allowed ...string) error {
	var err error
	v.ForEach(func(key, _ gjson.Result) bool {
		if !slices.Contains(allowed, key.Str) {
			err = fmt.Errorf("%s: unknown field", join(path, key.Str))
			return false
		}
		return true
	})
	return err
}

func boolField(v gjson.Result, path, name string, dst *bool) error {
	f := v.Get(name)
	if !f.Exists() {
		return nil
	}
	if !f.IsBool() {
		return fmt.Errorf("%s: must be true or false, got %s", join(path, name), f.Raw)
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

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
