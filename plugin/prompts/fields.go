package prompts

import (
	"fmt"
	"slices"

	"github.com/tidwall/gjson"
)

func object(v gjson.Result, p string, allowed ...string) error {
	if !v.IsObject() {
		return fmt.Errorf("%s: must be an object, got %.60s", p, v.Raw)
	}
	if allowed == nil {
		return nil
	}
	var err error
	v.ForEach(func(k, _ gjson.Result) bool {
		if !slices.Contains(allowed, k.Str) {
			err = fmt.Errorf("%s.%s: unknown field", p, k.Str)
		}
		return err == nil
	})
	return err
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

func list(v gjson.Result, p, name string) ([]string, error) {
	f := v.Get(name)
	if !f.Exists() {
		return nil, nil
	}
	if !f.IsArray() {
		return nil, fmt.Errorf("%s.%s: must be an array of strings, got %.60s", p, name, f.Raw)
	}
	var out []string
	for i, e := range f.Array() {
		if e.Type != gjson.String {
			return nil, fmt.Errorf("%s.%s[%d]: must be a string, got %.60s", p, name, i, e.Raw)
		}
		out = append(out, e.Str)
	}
	return out, nil
}
