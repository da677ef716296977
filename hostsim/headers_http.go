package hostsim

import (
	"net/http"
	"sort"
	"strings"

	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

// sortedHeader turns a net/http header into lower-cased pairs in a stable order (Go keeps no
// wire order).
func sortedHeader(h http.Header) []headermap.Pair {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []headermap.Pair
	for _, k := range keys {
		lk := strings.ToLower(k)
		for _, v := range h[k] {
			out = append(out, headermap.Pair{lk, v})
		}
	}
	return out
}
