package governance

import (
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
)

func object(v gjson.Result, p string, allowed ...string) error {
	if !v.IsObject() {
		return fmt.Errorf("%s: must be an object, got %.60s", p, v.Raw)
	}
	if allowed == nil {
		return nil
	}
	return cfgjson.KnownFields(v, p, allowed...)
}

func str(v gjson.Result, p, name string) (string, error) {
	f := v.Get(name)
	if !f.Exists() {
		return "", nil
	}
	if f.Type != gjson.String {
		return "", fmt.Errorf("%s.%s: must be a string, got %.60s", p, name, f.Raw)
	}
	return f.Str, nil
}

// list reads a string array; nil when the field is absent, empty (not nil) for [].
func list(v gjson.Result, p, name string) ([]string, error) {
	f := v.Get(name)
	if !f.Exists() {
		return nil, nil
	}
	if !f.IsArray() {
		return nil, fmt.Errorf("%s.%s: must be an array of strings, got %.60s", p, name, f.Raw)
	}
	out := []string{}
	for i, e := range f.Array() {
		if e.Type != gjson.String {
			return nil, fmt.Errorf("%s.%s[%d]: must be a string, got %.60s", p, name, i, e.Raw)
		}
		out = append(out, e.Str)
	}
	return out, nil
}

func stringMap(v gjson.Result, p, name string) (map[string]string, error) {
	f := v.Get(name)
	if !f.Exists() {
		return nil, nil
	}
	if !f.IsObject() {
		return nil, fmt.Errorf("%s.%s: must be an object of strings, got %.60s", p, name, f.Raw)
	}
	out := map[string]string{}
	var err error
	f.ForEach(func(k, e gjson.Result) bool {
		if e.Type != gjson.String {
			err = fmt.Errorf("%s.%s.%s: must be a string, got %.60s", p, name, k.Str, e.Raw)
		}
		out[k.Str] = e.Str
		return err == nil
	})
	return out, err
}
