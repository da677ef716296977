package prompts

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/calllog"
	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
	"github.com/stepgate/stepgate/plugin/lifecycle"
)

// PathPrefix is where prompts are published by default: POST /v1/prompts/{name}; GET on the
// prefix without the slash lists them.
const PathPrefix = "/v1/prompts/"

// CataloguePath answers the list of prompts a caller may use.
const CataloguePath = "/v1/prompts"

// Prompt is one configured prompt template.
type Prompt struct {
	Name      string
	Path      string
	Model     string
	Variables []Variable
	Compact   bool // answer {"result", "usage"} instead of the full chat completion
	lifecycle.Lifecycle

	system, user template
	hasSystem    bool
	params       string // generation parameters: the members of a JSON object, without braces
	byName       map[string]int
}

var promptFields = append([]string{"path", "model", "system", "user", "variables", "parameters", "response"}, lifecycle.Fields...)

// reserved request fields a prompt's parameters may not set: the template owns them.
var reserved = []string{"model", "messages", "stream"}

func parsePrompt(name string, v gjson.Result, p string) (*Prompt, error) {
	if err := cfgjson.Object(v, p, promptFields...); err != nil {
		return nil, err
	}
	pr := &Prompt{Name: name, Path: PathPrefix + name, byName: map[string]int{}}
	if strings.ContainsAny(name, "/?#% ") || name == "" {
		return nil, fmt.Errorf("%s: a prompt name cannot hold '/', '?', '#', '%%' or spaces", p)
	}
	var err error
	if path, err := cfgjson.String(v, p, "path"); err != nil {
		return nil, err
	} else if path != "" {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") {
			return nil, fmt.Errorf("%s.path: want a path starting with '/', without a query", p)
		}
		pr.Path = path
	}
	if pr.Model, err = cfgjson.String(v, p, "model"); err != nil || pr.Model == "" {
		return nil, fmt.Errorf("%s.model: required, the model the prompt calls", p)
	}
	if pr.Lifecycle, err = lifecycle.Parse(v, p); err != nil {
		return nil, err
	}
	if err := pr.parseVariables(v.Get("variables"), p+".variables"); err != nil {
		return nil, err
	}
	if err := pr.parseTemplates(v, p); err != nil {
		return nil, err
	}
	if err := pr.parseParams(v.Get("parameters"), p+".parameters"); err != nil {
		return nil, err
	}
	switch resp, _ := cfgjson.String(v, p, "response"); resp {
	case "", "full":
	case "compact":
		pr.Compact = true
	default:
		return nil, fmt.Errorf("%s.response: want \"full\" or \"compact\", got %s", p, v.Get("response").Raw)
	}
	return pr, nil
}

func (pr *Prompt) parseVariables(v gjson.Result, p string) error {
	if !v.Exists() {
		return nil
	}
	if err := cfgjson.Object(v, p); err != nil {
		return err
	}
	var err error
	v.ForEach(func(k, vv gjson.Result) bool {
		var vr Variable
		if vr, err = parseVariable(k.Str, vv, p+"."+k.Str); err == nil {
			pr.byName[vr.Name] = len(pr.Variables)
			pr.Variables = append(pr.Variables, vr)
		}
		return err == nil
	})
	return err
}

func (pr *Prompt) parseTemplates(v gjson.Result, p string) error {
	sys, err := cfgjson.String(v, p, "system")
	if err != nil {
		return err
	}
	user, err := cfgjson.String(v, p, "user")
	if err != nil {
		return err
	}
	if user == "" {
		return fmt.Errorf("%s.user: required, the user message template", p)
	}
	if pr.user, err = compile(user, pr.byName, p+".user"); err != nil {
		return err
	}
	if sys != "" {
		pr.hasSystem = true
		if pr.system, err = compile(sys, pr.byName, p+".system"); err != nil {
			return err
		}
	}
	return nil
}

func (pr *Prompt) parseParams(v gjson.Result, p string) error {
	if !v.Exists() {
		return nil
	}
	if err := cfgjson.Object(v, p); err != nil {
		return err
	}
	var err error
	var members []string
	v.ForEach(func(k, e gjson.Result) bool {
		for _, r := range reserved {
			if k.Str == r {
				err = fmt.Errorf("%s.%s: set by the prompt itself", p, r)
				return false
			}
		}
		members = append(members, string(calllog.AppendString(nil, k.Str))+":"+e.Raw)
		return true
	})
	pr.params = strings.Join(members, ",")
	return err
}
