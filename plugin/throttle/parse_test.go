package throttle

import (
	"reflect"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

func TestParseConfigErrorsNameTheField(t *testing.T) {
	const ok = `"name":"r","rate":"1/s","burst":1`
	for _, tc := range []struct {
		section, want string
	}{
		{`[]`, `throttle: must be an object, got []`},
		{`{"rulez":[]}`, `throttle.rulez: unknown field`},
		{`{"rules":{}}`, `throttle.rules: must be an array of rules, got {}`},
		{`{"cas_retries":0}`, `throttle.cas_retries: must be a whole number from 1 to 1000, got 0`},
		{`{"rules":[{` + ok + `,"sped":1}]}`, `throttle.rules[0].sped: unknown field`},
		{`{"rules":[{"rate":"1/s","burst":1}]}`, `throttle.rules[0].name: required`},
		{`{"rules":[{` + ok + `},{` + ok + `}]}`, `throttle.rules[1].name: "r" is already the name of throttle.rules[0]`},
		{`{"rules":[{"name":"a b","rate":"1/s","burst":1}]}`, `throttle.rules[0].name: "a b": only letters, digits, '-', '_' and '.' are allowed`},
		{`{"rules":[{"name":"r","burst":1}]}`, `throttle.rules[0].rate: required, like "100/min" or "0.5/s"`},
		{`{"rules":[{"name":"r","rate":"0/s","burst":1}]}`, `throttle.rules[0].rate: "0/s": the rate must be greater than 0`},
		{`{"rules":[{"name":"r","rate":"-1/s","burst":1}]}`, `throttle.rules[0].rate: "-1/s": "-1" is not a plain decimal number`},
		{`{"rules":[{"name":"r","rate":5,"burst":1}]}`, `throttle.rules[0].rate: must be a string like "100/min" or "0.5/s", got 5`},
		{`{"rules":[{"name":"r","rate":"5/fortnight","burst":1}]}`, `throttle.rules[0].rate: "5/fortnight": period "fortnight" is neither a unit (s, min, h, day) nor a duration like "10s"`},
		{`{"rules":[{"name":"r","rate":"5","burst":1}]}`, `throttle.rules[0].rate: "5": want <number>/<period>, like "100/min"`},
		{`{"rules":[{"name":"r","rate":"1/s","burst":0}]}`, `throttle.rules[0].burst: must be a whole number from 1 to 1000000000000, got 0`},
		{`{"rules":[{"name":"r","rate":"1/s","burst":1.5}]}`, `throttle.rules[0].burst: must be a whole number from 1 to 1000000000000, got 1.5`},
		{`{"rules":[{"name":"r","rate":"1/day","burst":100000000}]}`, `throttle.rules[0].burst: burst 100000000 at 1 tokens per 24h0m0s is too large to count exactly; lower the burst or raise the rate`},
		{`{"rules":[{` + ok + `,"unit":"bytes"}]}`, `throttle.rules[0].unit: unknown unit "bytes" (want "requests", "llm_tokens" or "cost")`},
		{`{"rules":[{` + ok + `,"default_max_tokens":5}]}`, `throttle.rules[0].default_max_tokens: only applies to units "llm_tokens" and "cost"`},
		{`{"rules":[{` + ok + `,"fail":"maybe"}]}`, `throttle.rules[0].fail: unknown fail mode "maybe" (want "open" or "closed")`},
		{`{"rules":[{` + ok + `,"shadow":"yes"}]}`, `throttle.rules[0].shadow: must be true or false, got "yes"`},
		{`{"rules":[{` + ok + `,"max_keys":10}]}`, `throttle.rules[0].max_keys: a rule without a key has exactly one bucket`},
		{`{"rules":[{` + ok + `,"key":"tenant","max_keys":0}]}`, `throttle.rules[0].max_keys: must be a whole number from 1 to 262144, got 0`},
		{`{"rules":[{` + ok + `,"overflow":{"burst":2}}]}`, `throttle.rules[0].overflow: a rule without a key has one bucket and never overflows`},
		{`{"rules":[{` + ok + `,"key":"tenant","overflow":{"size":2}}]}`, `throttle.rules[0].overflow.size: unknown field`},
		{`{"rules":[{` + ok + `,"key":"tenant","overflow":{"rate":"0/s"}}]}`, `throttle.rules[0].overflow.rate: "0/s": the rate must be greater than 0`},
		{`{"rules":[{` + ok + `,"key":"tenant","overflow":{"burst":0}}]}`, `throttle.rules[0].overflow.burst: must be a whole number from 1 to 1000000000000, got 0`},
		{`{"rules":[{` + ok + `,"key":"tenant","overflow":{"rate":"1/day","burst":100000000}}]}`, `throttle.rules[0].overflow.burst: burst 100000000 at 1 tokens per 24h0m0s is too large to count exactly; lower the burst or raise the rate`},
		{`{"rules":[{"name":"r","rate":"1/s","burst":1,"key":"tenant","overflow":{"rate":"100000000000/1ms"},"steps":[{"action":"shape","max_delay":"1h"}]}]}`, `throttle.rules[0].steps[0].max_delay: 1h0m0s at this rate is too large to count exactly`},
		{`{"rules":[{` + ok + `,"key":"tenant:colour"}]}`, `throttle.rules[0].key: unknown selector "colour" (want route, path, method, model, provider, tenant, api_key, mcp_tool, mcp_method or header:<name>)`},
		{`{"rules":[{` + ok + `,"key":"tenant:tenant"}]}`, `throttle.rules[0].key: selector "tenant" appears twice`},
		{`{"rules":[{` + ok + `,"key":["header:"]}]}`, `throttle.rules[0].key: empty header name`},
		{`{"rules":[{` + ok + `,"match":{"path":"/v1"}}]}`, `throttle.rules[0].match.path: unknown field`},
		{`{"rules":[{` + ok + `,"match":{"path_prefix":"v1"}}]}`, `throttle.rules[0].match.path_prefix[0]: "v1" must start with '/'`},
		{`{"rules":[{` + ok + `,"match":{"models":[1]}}]}`, `throttle.rules[0].match.models[0]: must be a string, got 1`},
		{`{"rules":[{` + ok + `,"match":{"headers":{"x-a":[]}}}]}`, `throttle.rules[0].match.headers.x-a: needs at least one value ("*" matches any)`},
		{`{"rules":[{` + ok + `,"steps":{}}]}`, `throttle.rules[0].steps: must be an array of steps, got {}`},
		{`{"rules":[{` + ok + `,"steps":[{"below":0}]}]}`, `throttle.rules[0].steps[0].action: required (allow, shape, degrade or reject)`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"slow"}]}]}`, `throttle.rules[0].steps[0].action: unknown action "slow" (want allow, shape, degrade or reject)`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"reject","when":1}]}]}`, `throttle.rules[0].steps[0].when: unknown field`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"reject","below":"150%"}]}]}`, `throttle.rules[0].steps[0].below: "150%": want a percentage of burst like "50%" (0% to 100%) or a number of tokens`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"reject","below":2}]}]}`, `throttle.rules[0].steps[0].below: must be a whole number from 0 to 1, got 2`},
		{`{"rules":[{"name":"r","rate":"1/s","burst":10,"steps":[{"action":"degrade","below":"20%","model":"m"},{"action":"reject","below":"50%"}]}]}`,
			`throttle.rules[0].steps[1].below: thresholds must strictly decrease: 50% is not below the previous step's 20%`},
		{`{"rules":[{"name":"r","rate":"1/s","burst":10,"steps":[{"action":"degrade","below":"50%","model":"m"},{"action":"degrade","below":5,"model":"n"}]}]}`,
			`throttle.rules[0].steps[1].below: thresholds must strictly decrease: 5 tokens is not below the previous step's 50%`},
		{`{"rules":[{"name":"r","rate":"1/s","burst":10,"steps":[{"action":"degrade","below":"50%","model":"m"},{"action":"shape","below":1,"max_delay":"1s"}]}]}`,
			`throttle.rules[0].steps[1].action: "shape" after "degrade": steps must not get milder as the bucket drains`},
		{`{"rules":[{"name":"r","rate":"1/s","burst":10,"steps":[{"action":"shape","below":"50%","max_delay":"1s"},{"action":"shape","below":1,"max_delay":"1s"}]}]}`,
			`throttle.rules[0].steps[1].action: a rule has at most one shape step`},
		{`{"rules":[{"name":"r","rate":"1/s","burst":10,"steps":[{"action":"reject","below":"50%"},{"action":"reject","below":1}]}]}`,
			`throttle.rules[0].steps[1]: unreachable: the previous step rejects`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"shape"}]}]}`, `throttle.rules[0].steps[0].max_delay: required for a shape step, a positive duration like "2s"`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"shape","max_delay":"soon"}]}]}`, `throttle.rules[0].steps[0].max_delay: want a duration from 0s to 1h0m0s like "2s" or "500ms", got "soon"`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"shape","max_delay":"1s","max_queue":1000}]}]}`, `throttle.rules[0].steps[0].max_queue: must be a whole number from 1 to 256, got 1000`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"reject","max_delay":"1s"}]}]}`, `throttle.rules[0].steps[0].max_delay: only applies to action "shape"`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"shape","max_delay":"1s","model":"m"}]}]}`, `throttle.rules[0].steps[0].model: only applies to action "degrade"`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"degrade"}]}]}`, `throttle.rules[0].steps[0]: a degrade step needs model, max_tokens or set_headers`},
		{`{"rules":[{` + ok + `,"steps":[{"action":"degrade","set_headers":{"x-a":1}}]}]}`, `throttle.rules[0].steps[0].set_headers.x-a: must be a string, got 1`},
		{`{"rules":[{` + ok + `,"adaptive":{"factor":0.5}}]}`, `throttle.rules[0].adaptive.factor: want a whole percentage from 1% to 99%, like "50%", got 0.5`},
		{`{"rules":[{` + ok + `,"adaptive":{"cooldown":"0s"}}]}`, `throttle.rules[0].adaptive.cooldown: must be positive`},
		{`{"rules":[{` + ok + `,"adaptive":{"on_status":[42]}}]}`, `throttle.rules[0].adaptive.on_status[0]: must be a whole number from 100 to 599, got 42`},
		{`{"rules":[{` + ok + `,"adaptive":{"recovery_steps":0}}]}`, `throttle.rules[0].adaptive.recovery_steps: must be a whole number from 1 to 100, got 0`},
		{`{"rules":[{` + ok + `,"adaptive":{"decay":1}}]}`, `throttle.rules[0].adaptive.decay: unknown field`},
	} {
		_, err := ParseConfig(gjson.Parse(tc.section), "throttle")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s\n got: %v\nwant: %s", tc.section, err, tc.want)
		}
	}
}

func TestParseConfigFull(t *testing.T) {
	section := `{
	  "cas_retries": 16,
	  "rules": [{
	    "name": "tenant-tpm",
	    "match": {"path_prefix": ["/v1/chat/"], "methods": "POST", "models": ["gpt-4o*"],
	              "headers": {"X-Team": ["a", "b"], "x-canary": "*"}},
	    "key": "tenant:model:header:x-team",
	    "unit": "llm_tokens",
	    "rate": "100000/min",
	    "burst": 150000,
	    "default_max_tokens": 512,
	    "steps": [
	      {"below": "50%", "action": "shape", "max_delay": "2s", "max_queue": 100},
	      {"below": "12.5%", "action": "degrade", "model": "gpt-4o-mini", "max_tokens": 256, "set_headers": {"X-Degraded": "1"}},
	      {"below": 0, "action": "reject"}
	    ],
	    "shadow": true,
	    "fail": "closed",
	    "headers": false,
	    "max_keys": 5000,
	    "adaptive": {"on_status": [429], "factor": "25%", "min": "5%", "cooldown": "1m", "recovery_steps": 4, "recovery_interval": "15s"}
	  }]
	}`
	cfg, err := ParseConfig(gjson.Parse(section), "throttle")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{CASRetries: 16, StreamCharge: DefaultStreamCharge, Rules: []Rule{{
		Name: "tenant-tpm",
		Match: Match{PathPrefixes: []string{"/v1/chat/"}, Methods: []string{"POST"}, Models: []string{"gpt-4o*"},
			Headers: []HeaderMatch{{Name: "x-team", Values: []string{"a", "b"}}, {Name: "x-canary", Values: []string{"*"}}}},
		Key:              []Selector{{Kind: SelTenant}, {Kind: SelModel}, {Kind: SelHeader, Header: "x-team"}},
		Unit:             LLMTokens,
		Rate:             Rate{Tokens: 1, Period: 600 * time.Microsecond}, // 100000/min reduced
		Burst:            150000,
		DefaultMaxTokens: 512,
		Steps: []Step{
			{Below: Threshold{Percent: true, PPM: 500000}, Action: Shape, MaxDelay: 2 * time.Second, MaxQueue: 100},
			{Below: Threshold{Percent: true, PPM: 125000}, Action: Degrade, Model: "gpt-4o-mini", MaxTokens: 256,
				SetHeaders: []Header{{"x-degraded", "1"}}},
			{Action: Reject},
		},
		Shadow: true, Fail: FailClosed, Headers: false, MaxKeys: 5000,
		Adaptive: &Adaptive{OnStatus: []int{429}, Factor: 25, Min: 5, Cooldown: time.Minute, RecoverySteps: 4, RecoveryInterval: 15 * time.Second},
	}}}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig(gjson.Parse(`{"rules":[{"name":"r","unit":"llm_tokens","rate":"0.5/s","burst":1,"key":["api_key"],"adaptive":{}}]}`), "throttle")
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Rules[0]
	if cfg.CASRetries != DefaultCASRetries || r.Rate != (Rate{1, 2 * time.Second}) || r.DefaultMaxTokens != 256 ||
		!r.Headers || r.Fail != FailOpen || r.MaxKeys != DefaultMaxKeys || r.Adaptive.Factor != 50 || r.Adaptive.RecoverySteps != 3 {
		t.Fatalf("%+v %+v", r, r.Adaptive)
	}
	if cfg, err := ParseConfig(gjson.Result{}, "throttle"); err != nil || len(cfg.Rules) != 0 {
		t.Fatalf("absent section: %+v %v", cfg, err)
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
	}{
		{"100/min", Rate{1, 600 * time.Millisecond}},
		{"100/m", Rate{1, 600 * time.Millisecond}},
		{"3/7s", Rate{3, 7 * time.Second}},
		{"1/s", Rate{1, time.Second}},
		{"0.5/s", Rate{1, 2 * time.Second}},
		{"2.5/10s", Rate{1, 4 * time.Second}},
		{"1/500ms", Rate{1, 500 * time.Millisecond}},
		{"24/day", Rate{1, time.Hour}},
		{"3/hour", Rate{1, 20 * time.Minute}},
		{"7/s", Rate{7, time.Second}},
	} {
		got, err := parseRate(gjson.Parse(`"`+tc.in+`"`), "rate")
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}
