package governance

import (
	"fmt"

	"github.com/tidwall/gjson"
)

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
