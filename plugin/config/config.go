// Package config turns the plugin's JSON configuration into a typed, validated Config. It owns the
// top-level document and the small sections that belong to the filter itself (log, limits,
// response_headers); each domain package parses its own section. Every error names the field it is
// about, so that a refused configuration tells the operator exactly what to fix.
//
// It does not import the proxy-wasm SDK: it runs natively in tests and inside the VM at
// on_configure.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/fleet"
	"github.com/stepgate/stepgate/plugin/governance"
	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
	"github.com/stepgate/stepgate/plugin/mcp"
	"github.com/stepgate/stepgate/plugin/prompts"
	"github.com/stepgate/stepgate/plugin/spend"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// Version is the filter's version, sent in the x-stepgate response header.
const Version = "0.1.0"

// Config is the whole plugin configuration.
type Config struct {
	Log             Log
	Limits          Limits
	ResponseHeaders ResponseHeaders
	// Throttle holds the local rules; the rules with scope fleet are in Fleet.
	Throttle throttle.Config
	Fleet    fleet.Config
	// AI is the unified AI format's routing (sections "providers" and "models"); nil when the
	// document has neither, and the filter then only throttles.
	AI *aiformat.Config
	// MCP lists the MCP servers behind the gateway (section "mcp"); nil when there are none.
	MCP *mcp.Config
	// Governance holds API routes, tenants and consumers (sections "routes", "tenants",
	// "consumers"); nil when the document has none, and every caller is anonymous.
	Governance *governance.Config
	// Prompts are the published prompt templates and aliases (sections "prompts", "aliases").
	Prompts *prompts.Config
	// Pricing is the per-model price table (section "pricing"); nil when the document has none,
	// and calls are then not priced.
	Pricing *spend.Table
}

// Log controls the filter's own logging.
type Log struct {
	// Level is the least severe level of the filter's own diagnostic lines that it emits; the
	// call record is not one of them.
	Level Level
	// AccessLog emits one line per stream when it ends (the call record, at info level).
	AccessLog bool
}

// Limits bound what the filter accepts from clients.
type Limits struct {
	// MaxRequestBodyBytes is the largest request body the filter buffers to inspect; a larger one is
	// refused with 413 before it reaches a provider.
	MaxRequestBodyBytes int64
}

// ResponseHeaders controls the headers the filter adds to every response.
type ResponseHeaders struct {
	Version bool // x-stepgate: <Version>
}

// Level is a proxy-wasm log level: trace 0 … critical 5.
type Level int

// The log levels, least severe first.
const (
	LevelTrace Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelCritical
)

var levelNames = []string{"trace", "debug", "info", "warn", "error", "critical"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// Default returns the configuration used for an empty document.
func Default() *Config {
	return &Config{
		Log:             Log{Level: LevelInfo, AccessLog: true},
		Limits:          Limits{MaxRequestBodyBytes: 1 << 20},
		ResponseHeaders: ResponseHeaders{Version: true},
	}
}

// Parse validates data and returns the configuration. Empty data (or only white space) means all
// defaults, because Envoy passes an empty configuration when the operator gives none.
func Parse(data []byte) (*Config, error) {
	cfg := Default()
	if strings.TrimSpace(string(data)) == "" {
		return cfg, nil
	}
	if err := syntaxError(data); err != nil {
		return nil, err
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return nil, errors.New("configuration: must be a JSON object")
	}
	sections := append([]string{"log", "limits", "response_headers", "throttle", "fleet", "providers", "models", "mcp", "pricing"}, governance.Sections...)
	if err := cfgjson.KnownFields(root, "", append(sections, prompts.Sections...)...); err != nil {
		return nil, err
	}
	if err := parseLog(root.Get("log"), &cfg.Log); err != nil {
		return nil, err
	}
	if err := parseLimits(root.Get("limits"), &cfg.Limits); err != nil {
		return nil, err
	}
	if err := parseResponseHeaders(root.Get("response_headers"), &cfg.ResponseHeaders); err != nil {
		return nil, err
	}
	if t := root.Get("throttle"); t.Exists() {
		tc, err := throttle.ParseConfig(t, "throttle")
		if err != nil {
			return nil, err
		}
		if cfg.Fleet, err = fleet.ParseConfig(root.Get("fleet"), "fleet", tc.Rules, "throttle.rules"); err != nil {
			return nil, err
		}
		cfg.Throttle = tc
		cfg.Throttle.Rules = localRules(tc.Rules)
	} else if root.Get("fleet").Exists() {
		if _, err := fleet.ParseConfig(root.Get("fleet"), "fleet", nil, ""); err != nil {
			return nil, err
		}
	}
	pricing, err := spend.ParseConfig(root.Get("pricing"), "pricing")
	if err != nil {
		return nil, err
	}
	cfg.Pricing = pricing
	if root.Get("providers").Exists() || root.Get("models").Exists() {
		ai, err := aiformat.ParseConfig(root, "")
		if err != nil {
			return nil, err
		}
		cfg.AI = ai
	}
	if m := root.Get("mcp"); m.Exists() {
		mc, err := mcp.ParseConfig(m, "mcp")
		if err != nil {
			return nil, err
		}
		cfg.MCP = mc
	}
	return cfg, parseGovernance(root, cfg)
}

// localRules are the rules that keep their buckets in this Envoy's shared data.
func localRules(rules []throttle.Rule) []throttle.Rule {
	var local []throttle.Rule
	for _, r := range rules {
		if r.Scope == throttle.ScopeLocal {
			local = append(local, r)
		}
	}
	return local
}

// syntaxError reports where malformed JSON goes wrong; gjson is lenient and would read garbage.
func syntaxError(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(data, se.Offset)
		return fmt.Errorf("configuration: invalid JSON at line %d, column %d (byte %d): %v", line, col, se.Offset, se)
	}
	return fmt.Errorf("configuration: invalid JSON: %v", err)
}

func parseLog(v gjson.Result, l *Log) error {
	if !v.Exists() {
		return nil
	}
	if err := object(v, "log", "level", "access_log"); err != nil {
		return err
	}
	if lv := v.Get("level"); lv.Exists() {
		level, err := parseLevel(lv)
		if err != nil {
			return err
		}
		l.Level = level
	}
	return boolField(v, "log", "access_log", &l.AccessLog)
}

func parseLevel(v gjson.Result) (Level, error) {
	if v.Type == gjson.String {
		for i, name := range levelNames {
			if v.Str == name {
				return Level(i), nil
			}
		}
	}
	return 0, fmt.Errorf("log.level: unknown level %s (want one of %s)", v.Raw, strings.Join(levelNames, ", "))
}

func parseLimits(v gjson.Result, l *Limits) error {
	if !v.Exists() {
		return nil
	}
	if err := object(v, "limits", "max_request_body_bytes"); err != nil {
		return err
	}
	if b := v.Get("max_request_body_bytes"); b.Exists() {
		n, ok := wholeNumber(b)
		if !ok || n < 1 {
			return fmt.Errorf("limits.max_request_body_bytes: must be a whole number ≥ 1, got %s", b.Raw)
		}
		l.MaxRequestBodyBytes = n
	}
	return nil
}

func parseResponseHeaders(v gjson.Result, h *ResponseHeaders) error {
	if !v.Exists() {
		return nil
	}
	if err := object(v, "response_headers", "version"); err != nil {
		return err
	}
	return boolField(v, "response_headers", "version", &h.Version)
}
