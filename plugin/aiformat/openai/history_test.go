package openai

import (
	"testing"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
)

func TestRewriteDropsResponseOnlyMembersOfTheHistory(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"annotations and null refusal",
			`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo","refusal":null,"annotations":[]}]}`,
			`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}`},
		{"audio trimmed to its id",
			`{"model":"m","messages":[{"role":"assistant","content":null,"audio":{"id":"a1","data":"AAA","expires_at":1,"transcript":"t"}}]}`,
			`{"model":"m","messages":[{"role":"assistant","content":null,"audio":{"id":"a1"}}]}`},
		{"null members dropped, a real refusal kept",
			`{"model":"m","messages":[{"role":"assistant","content":"x","refusal":"no","function_call":null,"tool_calls":null,"audio":null}]}`,
			`{"model":"m","messages":[{"role":"assistant","content":"x","refusal":"no"}]}`},
		{"other roles untouched",
			`{"model":"m","messages":[{"role":"user","content":"hi","annotations":[]}]}`,
			`{"model":"m","messages":[{"role":"user","content":"hi","annotations":[]}]}`},
		{"clean history copied as it is",
			`{"model":"m","messages":[{"role":"assistant","content":"x","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`,
			`{"model":"m","messages":[{"role":"assistant","content":"x","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(Rewrite(nil, c.in, hub.Target{}, &Policy{}))
			if got != c.want {
				t.Errorf("Rewrite\n got %s\nwant %s", got, c.want)
			}
		})
	}
}
