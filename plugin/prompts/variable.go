package prompts

import (
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
	"github.com/tidwall/gjson"
)

// Type of a variable.
type Type uint8

// Types.
const (
	String Type = iota
	Number
	Boolean
	Enum
)

var typeNames = [...]string{"string", "number", "boolean", "enum"}

func (t Type) String() string { return typeNames[t] }

// Variable is one typed input of a prompt.
type Variable struct {
	Name      string
	Type      Type
	Required  bool
	Default   string // the text inserted when the caller gives none
	MaxLength int    // characters; 0 no limit
	Values    []string
	hasDef    bool
}

// VarError is a refused variable: the answer is 400 with Message.
type VarError struct{ Message string }

func (e *VarError) Error() string { return e.Message }

func varErr(name, format string, args ...any) *VarError {
	return &VarError{Message: "variable " + strconv.Quote(name) + ": " + fmt.Sprintf(format, args...)}
}

// text checks a value given for v and returns the text to insert.
func (v *Variable) text(val gjson.Result) (string, *VarError) {
	switch v.Type {
	case Number:
		if val.Type != gjson.Number {
			return "", varErr(v.Name, "must be a number")
		}
		return val.Raw, nil
	case Boolean:
		if !val.IsBool() {
			return "", varErr(v.Name, "must be true or false")
		}
		return val.Raw, nil
	}
	if val.Type != gjson.String {
		return "", varErr(v.Name, "must be a string")
	}
	if v.Type == Enum && !slices.Contains(v.Values, val.Str) {
		return "", varErr(v.Name, "must be one of %q", v.Values)
	}
	if v.MaxLength > 0 && utf8.RuneCountInString(val.Str) > v.MaxLength {
		return "", varErr(v.Name, "longer than max_length %d", v.MaxLength)
	}
	return val.Str, nil
}

var varFields = []string{"type", "required", "default", "max_length", "values"}

func parseVariable(name string, v gjson.Result, p string) (Variable, error) {
	vr := Variable{Name: name}
	if err := cfgjson.Object(v, p, varFields...); err != nil {
		return vr, err
	}
	if !validName(name) {
		return vr, fmt.Errorf("%s: a variable name is letters, digits and '_'", p)
	}
	ts, err := cfgjson.String(v, p, "type")
	if err != nil {
		return vr, err
	}
	if ts == "" {
		ts = "string"
	}
	k := slices.Index(typeNames[:], ts)
	if k < 0 {
		return vr, fmt.Errorf("%s.type: unknown type %q (want string, number, boolean or enum)", p, ts)
	}
	vr.Type = Type(k)
	if r := v.Get("required"); r.Exists() {
		if !r.IsBool() {
			return vr, fmt.Errorf("%s.required: must be true or false", p)
		}
		vr.Required = r.Bool()
	}
	if m := v.Get("max_length"); m.Exists() {
		if m.Type != gjson.Number || m.Num < 1 || m.Num != float64(int(m.Num)) {
			return vr, fmt.Errorf("%s.max_length: must be a whole number ≥ 1", p)
		}
		vr.MaxLength = int(m.Num)
	}
	if vr.Values, err = cfgjson.Strings(v, p, "values"); err != nil {
		return vr, err
	}
	if (vr.Type == Enum) != (len(vr.Values) > 0) {
		return vr, fmt.Errorf("%s.values: an enum needs values, and only an enum takes them", p)
	}
	if d := v.Get("default"); d.Exists() {
		if vr.Required {
			return vr, fmt.Errorf("%s.default: a required variable takes no default", p)
		}
		text, verr := vr.text(d)
		if verr != nil {
			return vr, fmt.Errorf("%s.default: %s", p, verr.Message)
		}
		vr.Default, vr.hasDef = text, true
	}
	return vr, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c != '_' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}
