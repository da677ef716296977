package prompts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/calllog"
	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
	"github.com/stepgate/stepgate/plugin/lifecycle"
)

// Sections are the top-level configuration sections this package reads.
var Sections = []string{"prompts", "aliases"}

// Config holds the configured prompts and aliases.
type Config struct {
	Prompts []*Prompt // in document order
	// ModelAliases map a model name a client may ask for to the model it stands for.
	ModelAliases map[string]string
	byPath       map[string]Endpoint
	endpoints    []Endpoint // published endpoints in document order, aliases after prompts
}

// Endpoint is a published prompt: its Name as called (a prompt's or an alias's) and the Prompt
// it runs.
type Endpoint struct {
	Name   string
	Path   string
	Prompt *Prompt
}

// ParseConfig reads the prompts and aliases sections of the configuration root; nil when the
// document has neither.
func ParseConfig(root gjson.Result) (*Config, error) {
	if !root.Get("prompts").Exists() && !root.Get("aliases").Exists() {
		return nil, nil
	}
	c := &Config{ModelAliases: map[string]string{}, byPath: map[string]Endpoint{}}
	if err := c.parsePrompts(root.Get("prompts")); err != nil {
		return nil, err
	}
	if err := c.parseAliases(root.Get("aliases")); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) parsePrompts(v gjson.Result) error {
	if !v.Exists() {
		return nil
	}
	if err := cfgjson.Object(v, "prompts"); err != nil {
		return err
	}
	var err error
	v.ForEach(func(k, pv gjson.Result) bool {
		var pr *Prompt
		if pr, err = parsePrompt(k.Str, pv, "prompts."+k.Str); err == nil {
			c.Prompts = append(c.Prompts, pr)
			err = c.publish(Endpoint{Name: pr.Name, Path: pr.Path, Prompt: pr}, "prompts."+k.Str)
		}
		return err == nil
	})
	return err
}

func (c *Config) publish(e Endpoint, p string) error {
	if old, dup := c.byPath[e.Path]; dup {
		return fmt.Errorf("%s: path %s is also %s's", p, e.Path, old.Name)
	}
	c.byPath[e.Path] = e
	c.endpoints = append(c.endpoints, e)
	return nil
}

// parseAliases reads name → target: a target that is a prompt publishes the prompt under the
// alias's name too; any other target is a model name.
func (c *Config) parseAliases(v gjson.Result) error {
	if !v.Exists() {
		return nil
	}
	if err := cfgjson.Object(v, "aliases"); err != nil {
		return err
	}
	var err error
	v.ForEach(func(k, t gjson.Result) bool {
		p := "aliases." + k.Str
		if t.Type != gjson.String || t.Str == "" || t.Str == k.Str {
			err = fmt.Errorf("%s: must be the name of a prompt or a model, other than the alias", p)
			return false
		}
		i := slices.IndexFunc(c.Prompts, func(pr *Prompt) bool { return pr.Name == t.Str })
		if i < 0 {
			c.ModelAliases[k.Str] = t.Str
			return true
		}
		if strings.ContainsAny(k.Str, "/?#% ") {
			err = fmt.Errorf("%s: a prompt name cannot hold '/', '?', '#', '%%' or spaces", p)
			return false
		}
		err = c.publish(Endpoint{Name: k.Str, Path: PathPrefix + k.Str, Prompt: c.Prompts[i]}, p)
		return err == nil
	})
	return err
}

// Match returns the endpoint published at path (query string ignored).
func (c *Config) Match(path string) (Endpoint, bool) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	e, ok := c.byPath[path]
	return e, ok
}

// Catalogue is the answer to GET /v1/prompts: the endpoints allow admits (nil admits all), with
// their variables. Retired prompts are left out.
func (c *Config) Catalogue(allow func(Endpoint) bool) []byte {
	out := []byte(`{"object":"list","data":[`)
	n := 0
	for _, e := range c.endpoints {
		if e.Prompt.State == lifecycle.Retired || (allow != nil && !allow(e)) {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = e.appendJSON(out)
	}
	return append(out, "]}"...)
}

func (e *Endpoint) appendJSON(out []byte) []byte {
	pr := e.Prompt
	out = append(out, `{"name":`...)
	out = calllog.AppendString(out, e.Name)
	out = append(out, `,"path":`...)
	out = calllog.AppendString(out, e.Path)
	if e.Name != pr.Name {
		out = append(out, `,"target":`...)
		out = calllog.AppendString(out, pr.Name)
	}
	out = append(out, `,"model":`...)
	out = calllog.AppendString(out, pr.Model)
	if pr.Version != "" {
		out = append(out, `,"version":`...)
		out = calllog.AppendString(out, pr.Version)
	}
	out = append(out, `,"state":"`...)
	out = append(out, pr.State.String()...)
	out = append(out, `","response":`...)
	out = append(out, map[bool]string{true: `"compact"`, false: `"full"`}[pr.Compact]...)
	out = append(out, `,"variables":[`...)
	for i := range pr.Variables {
		if i > 0 {
			out = append(out, ',')
		}
		out = pr.Variables[i].appendJSON(out)
	}
	return append(out, "]}"...)
}

func (v *Variable) appendJSON(out []byte) []byte {
	out = append(out, `{"name":`...)
	out = calllog.AppendString(out, v.Name)
	out = append(out, `,"type":"`...)
	out = append(out, v.Type.String()...)
	out = append(out, '"')
	if v.Required {
		out = append(out, `,"required":true`...)
	}
	if v.hasDef {
		out = append(out, `,"default":`...)
		out = calllog.AppendString(out, v.Default)
	}
	if v.MaxLength > 0 {
		out = append(out, fmt.Sprintf(`,"max_length":%d`, v.MaxLength)...)
	}
	if len(v.Values) > 0 {
		out = append(out, `,"values":[`...)
		for i, s := range v.Values {
			if i > 0 {
				out = append(out, ',')
			}
			out = calllog.AppendString(out, s)
		}
		out = append(out, ']')
	}
	return append(out, '}')
}
