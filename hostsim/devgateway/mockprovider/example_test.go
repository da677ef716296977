package mockprovider_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
	"github.com/tidwall/gjson"
)

// A mock OpenAI that fails once with 429, then answers deterministically; every request is kept.
func Example() {
	s := mockprovider.New(mockprovider.OpenAI, mockprovider.Options{Keys: []string{"sk-test"}})
	ts := httptest.NewServer(s)
	defer ts.Close()
	s.FailNext(1, mockprovider.RateLimited(2*time.Second))

	for range 2 {
		req, _ := http.NewRequest("POST", ts.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}`))
		req.Header.Set("Authorization", "Bearer sk-test")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			fmt.Println(res.StatusCode, "retry after", res.Header.Get("Retry-After"), gjson.GetBytes(body, "error.code"))
			continue
		}
		fmt.Printf("%d %q, %d tokens\n", res.StatusCode, gjson.GetBytes(body, "choices.0.message.content").String(),
			gjson.GetBytes(body, "usage.total_tokens").Int())
	}
	fmt.Println(len(s.Requests()), "requests recorded")
	// Output:
	// 429 retry after 2 rate_limit_exceeded
	// 200 "mock reply to: Hello", 7 tokens
	// 2 requests recorded
}
