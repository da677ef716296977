// Package cfgjson holds the field readers the plugin's configuration parsers share, and the one
// shape their errors take: the JSON path of the offending field, a colon, what is wrong with it
// (`throttle.rules[2].shadow: must be true or false, got "yes"`).
//
// It covers what parsers read the same way; readers whose messages still differ between parsers
// (numbers, some lists) stay with their parser, so that no message changes.
package cfgjson

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tidwall/gjson"
)

// Errorf returns the error "path: message".
func Errorf(path, format string, args ...any) error {
	return errors.New(path + ": " + fmt.Sprintf(format, args...))
}

// Join returns the path of field name inside the value at path ("" is the document root).
func Join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Short clips a raw JSON value to 60 bytes so that an error message stays readable when the
// offending value is large.
func Short(raw string) string {
	if len(raw) > 60 {
		return raw[:57] + "..."
	}
	return raw
}

// KnownFields names the first field of v that is not in allowed. A misspelt field would otherwise
// be ignored, and the operator left wondering why a setting has no effect.
func KnownFields(v gjson.Result, path string, allowed ...string) error {
	var err error
	v.ForEach(func(k, _ gjson.Result) bool {
		if !slices.Contains(allowed, k.Str) {
			err = Errorf(Join(path, k.Str), "unknown field")
			return false
		}
		return true
	})
	return err
}

// Object checks that v is a JSON object and, when allowed is not empty, that every field of it
// is one of allowed.
func Object(v gjson.Result, path string, allowed ...string) error {
	if !v.IsObject() {
		return Errorf(path, "must be an object, got %s", Short(v.Raw))
	}
	if len(allowed) == 0 {
		return nil
	}
	return KnownFields(v, path, allowed...)
}

// Bool sets *dst from the boolean field name of v; an absent field leaves *dst as it is.
func Bool(v gjson.Result, path, name string, dst *bool) error {
	f := v.Get(name)
	if !f.Exists() {
		return nil
	}
	if !f.IsBool() {
		return Errorf(Join(path, name), "must be true or false, got %s", Short(f.Raw))
	}
	*dst = f.Bool()
	return nil
}

// String reads the string field name of v: "" when it is absent.
func String(v gjson.Result, path, name string) (string, error) {
	f := v.Get(name)
	if !f.Exists() {
		return "", nil
	}
	if f.Type != gjson.String {
		return "", Errorf(Join(path, name), "must be a string, got %s", Short(f.Raw))
	}
	return f.Str, nil
}

// Strings reads the string array field name of v: nil when it is absent, empty (not nil) for [],
// so that a caller can tell "not said" from "nothing allowed".
func Strings(v gjson.Result, path, name string) ([]string, error) {
	f := v.Get(name)
	if !f.Exists() {
		return nil, nil
	}
	if !f.IsArray() {
		return nil, Errorf(Join(path, name), "must be an array of strings, got %s", Short(f.Raw))
	}
	out := []string{}
	for i, e := range f.Array() {
		if e.Type != gjson.String {
			return nil, Errorf(fmt.Sprintf("%s[%d]", Join(path, name), i), "must be a string, got %s", Short(e.Raw))
		}
		out = append(out, e.Str)
	}
	return out, nil
}
