package prompts

import (
	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/calllog"
)

// Render checks body, the caller's variables as a JSON object, and appends to dst the OpenAI
// Chat Completions request it makes. A "stream": true member (not a variable) asks for a stream.
// model is the model to call (the prompt's own, or what an alias made of it).
func (pr *Prompt) Render(dst, body []byte, model string) ([]byte, bool, *VarError) {
	values, stream, verr := pr.values(body)
	if verr != nil {
		return dst, false, verr
	}
	if cap(dst)-len(dst) < 96+pr.system.size(values)+pr.user.size(values)+len(pr.params) {
		dst = append(make([]byte, 0, len(dst)+96+pr.system.size(values)+pr.user.size(values)+len(pr.params)), dst...)
	}
	dst = append(dst, `{"model":`...)
	dst = calllog.AppendString(dst, model)
	dst = append(dst, `,"messages":[`...)
	if pr.hasSystem {
		dst = append(dst, `{"role":"system","content":`...)
		dst = pr.system.render(dst, values)
		dst = append(dst, "},"...)
	}
	dst = append(dst, `{"role":"user","content":`...)
	dst = pr.user.render(dst, values)
	dst = append(dst, "}]"...)
	if pr.params != "" {
		dst = append(dst, ',')
		dst = append(dst, pr.params...)
	}
	if stream {
		dst = append(dst, `,"stream":true`...)
	}
	return append(dst, '}'), stream, nil
}

// values checks the caller's variables and returns the text of each, in Variables order.
func (pr *Prompt) values(body []byte) ([]string, bool, *VarError) {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if !gjson.ValidBytes(body) {
		return nil, false, &VarError{Message: "the body must be a JSON object of variables"}
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, false, &VarError{Message: "the body must be a JSON object of variables"}
	}
	values := make([]string, len(pr.Variables))
	seen := make([]bool, len(pr.Variables))
	var stream bool
	var verr *VarError
	root.ForEach(func(k, v gjson.Result) bool {
		if k.Str == "stream" {
			if !v.IsBool() {
				verr = &VarError{Message: `"stream": must be true or false`}
			}
			stream = v.Bool()
			return verr == nil
		}
		i, ok := pr.byName[k.Str]
		switch {
		case !ok:
			verr = varErr(k.Str, "unknown (this prompt takes %s)", pr.names())
		case seen[i]:
			verr = varErr(k.Str, "given twice")
		default:
			seen[i] = true
			values[i], verr = pr.Variables[i].text(v)
		}
		return verr == nil
	})
	if verr != nil {
		return nil, false, verr
	}
	for i := range pr.Variables {
		v := &pr.Variables[i]
		switch {
		case seen[i]:
		case v.Required:
			return nil, false, varErr(v.Name, "required")
		default:
			values[i] = v.Default
		}
	}
	return values, stream, nil
}

func (pr *Prompt) names() string {
	if len(pr.Variables) == 0 {
		return "no variables"
	}
	s := ""
	for i, v := range pr.Variables {
		if i > 0 {
			s += ", "
		}
		s += v.Name
	}
	return s
}

// Compact turns a chat completion (OpenAI JSON) into {"result": "…", "usage": {…}}. A body
// without a first choice (an error) is returned unchanged.
func Compact(body []byte) []byte {
	res := gjson.GetManyBytes(body, "choices.0.message.content", "usage")
	if !res[0].Exists() {
		return body
	}
	out := make([]byte, 0, len(res[0].Raw)+len(res[1].Raw)+32)
	out = append(out, `{"result":`...)
	out = calllog.AppendString(out, res[0].Str)
	if res[1].IsObject() {
		out = append(out, `,"usage":`...)
		out = append(out, res[1].Raw...)
	}
	return append(out, '}')
}
