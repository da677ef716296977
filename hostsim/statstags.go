package hostsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// StatsTag is one entry of Envoy's stats_config.stats_tags: a tag named TagName whose value
// Regex extracts from stat names, or a FixedValue given to every stat.
type StatsTag struct {
	TagName    string `json:"tag_name"`
	Regex      string `json:"regex,omitempty"`
	FixedValue string `json:"fixed_value,omitempty"`
}

// Tag is one tag of a stat (one Prometheus label).
type Tag struct{ Name, Value string }

// StatsTags turns stat names into a tag-extracted name and tags as Envoy's TagProducer does.
// Every regex runs on the whole original name; where one matches, its first capture group is
// removed from the name and its second (or, with only one group, the first) is the tag's
// value; removed ranges may overlap. Tags come in configuration order, fixed values last.
//
// Envoy compiles these regexes with std::regex (ECMAScript); Go's RE2 lacks backreferences
// and lookaround, so a configuration using them is refused here.
type StatsTags struct {
	regex []regexTag
	fixed []Tag
}

type regexTag struct {
	name string
	re   *regexp.Regexp
}

// NewStatsTags compiles tags; errors name the entry.
func NewStatsTags(tags []StatsTag) (*StatsTags, error) {
	s := &StatsTags{}
	for i, t := range tags {
		switch {
		case t.TagName == "":
			return nil, fmt.Errorf("stats_tags[%d].tag_name: empty", i)
		case t.Regex != "" && t.FixedValue != "":
			return nil, fmt.Errorf("stats_tags[%d]: regex and fixed_value are exclusive", i)
		case t.FixedValue != "":
			s.fixed = append(s.fixed, Tag{t.TagName, t.FixedValue})
		case t.Regex == "":
			return nil, fmt.Errorf("stats_tags[%d] (%s): a regex or a fixed_value is needed (Envoy's default tag names are not modelled)", i, t.TagName)
		default:
			re, err := regexp.Compile(t.Regex)
			if err != nil {
				return nil, fmt.Errorf("stats_tags[%d].regex: %w", i, err)
			}
			if re.NumSubexp() < 1 {
				return nil, fmt.Errorf("stats_tags[%d].regex: no capture group", i)
			}
			s.regex = append(s.regex, regexTag{t.TagName, re})
		}
	}
	return s, nil
}

// ParseStatsTags reads stats tags from JSON or YAML: an Envoy bootstrap (or any document) with
// stats_config.stats_tags, a document with stats_tags, or a bare list of entries.
func ParseStatsTags(data []byte) (*StatsTags, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("stats tags: %w", err)
	}
	var doc struct {
		StatsConfig *struct {
			StatsTags []StatsTag `json:"stats_tags"`
		} `json:"stats_config"`
		StatsTags []StatsTag `json:"stats_tags"`
	}
	var list []StatsTag
	if err := json.Unmarshal(j, &list); err == nil {
		return NewStatsTags(list)
	}
	if err := json.Unmarshal(j, &doc); err != nil {
		return nil, fmt.Errorf("stats tags: %w", err)
	}
	switch {
	case doc.StatsConfig != nil && doc.StatsConfig.StatsTags != nil:
		return NewStatsTags(doc.StatsConfig.StatsTags)
	case doc.StatsTags != nil:
		return NewStatsTags(doc.StatsTags)
	}
	return nil, errors.New("stats tags: no stats_config.stats_tags, stats_tags or list of tags")
}

// Extract returns the tag-extracted name of stat name (a full Envoy stat name, such as
// "wasmcustom.requests.status.200") and its tags.
func (s *StatsTags) Extract(name string) (string, []Tag) {
	var tags []Tag
	var cut [][2]int // removed [start, end) ranges
	for _, t := range s.regex {
		m := t.re.FindStringSubmatchIndex(name)
		if m == nil || m[2] < 0 {
			continue
		}
		v := 2
		if len(m) >= 6 && m[4] >= 0 {
			v = 4
		}
		tags = append(tags, Tag{t.name, name[m[v]:m[v+1]]})
		cut = append(cut, [2]int{m[2], m[3]})
	}
	tags = append(tags, s.fixed...)
	return remove(name, cut), tags
}

// remove deletes the union of ranges from s.
func remove(s string, ranges [][2]int) string {
	if len(ranges) == 0 {
		return s
	}
	slices.SortFunc(ranges, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	pos := 0
	for _, r := range ranges {
		if r[0] > pos {
			b.WriteString(s[pos:r[0]])
		}
		pos = max(pos, r[1])
	}
	b.WriteString(s[pos:])
	return b.String()
}

// customPrefix is Envoy's stats prefix of proxy-wasm metrics, a custom stat namespace.
const customPrefix = "wasmcustom."

// Prometheus is what Envoy's /stats/prometheus shows for the custom metric named metric (as
// the plugin defined it): tags are extracted from "wasmcustom."+metric, the custom namespace
// is dropped instead of adding "envoy_", and the rest is sanitized into a metric name (every
// character outside [a-zA-Z0-9_] becomes '_', a leading digit gets a '_' in front).
func (s *StatsTags) Prometheus(metric string) (string, []Tag) {
	name, tags := s.Extract(customPrefix + metric)
	name = strings.TrimPrefix(name, customPrefix)
	for i := range tags {
		tags[i].Name = sanitizeStatName(tags[i].Name)
	}
	return sanitizeStatName(name), tags
}

func sanitizeStatName(s string) string {
	out := []byte(s)
	for i, c := range out {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			out[i] = '_'
		}
	}
	if len(out) > 0 && out[0] >= '0' && out[0] <= '9' {
		return "_" + string(out)
	}
	return string(out)
}

// StepgateStatsTags are the stats_tags of stepgate's envoy/envoy.yaml: each walks a
// stepgate_* metric name pair by pair and captures ".TAG.value", so
// stepgate_requests_total.tenant.acme.status.200 becomes stepgate_requests_total with tenant
// acme and status 200. They are the dev gateway's default.
var StepgateStatsTags = func() []StatsTag {
	names := []string{"tenant", "key", "route", "model", "provider", "rule", "step", "mode", "status", "direction", "tool", "mcp_method",
		"from", "to", "outcome"}
	tags := make([]StatsTag, len(names))
	for i, n := range names {
		tags[i] = StatsTag{TagName: n, Regex: `^wasmcustom\.stepgate_[a-z0-9_]+(?:\.[a-z_]+\.[^.]+)*?(\.` + n + `\.([^.]+))`}
	}
	return tags
}()
