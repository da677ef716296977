package mockprovider

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"
)

// controlPrefix is where the control endpoints live; no provider API uses it.
const controlPrefix = "/__mock/"

// FaultRequest is the body of POST /__mock/faults. Either Spec (ParseFault syntax) or the explicit
// fields describe the fault; Kind limits it to one provider of a Mux (default: all of them).
type FaultRequest struct {
	Kind         Kind   `json:"kind,omitempty"`
	Count        int    `json:"count,omitempty"` // default 1
	Spec         string `json:"spec,omitempty"`
	Status       int    `json:"status,omitempty"`
	RetryAfterMS int    `json:"retry_after_ms,omitempty"`
	Message      string `json:"message,omitempty"`
	DelayMS      int    `json:"delay_ms,omitempty"`
	ChunkDelayMS int    `json:"chunk_delay_ms,omitempty"`
	Break        bool   `json:"break,omitempty"`
	Malformed    bool   `json:"malformed,omitempty"`
}

// Fault builds the fault the request describes.
func (fr FaultRequest) Fault() (Fault, error) {
	f := Fault{
		Status: fr.Status, RetryAfter: time.Duration(fr.RetryAfterMS) * time.Millisecond,
		Message: fr.Message, Delay: time.Duration(fr.DelayMS) * time.Millisecond,
		ChunkDelay: time.Duration(fr.ChunkDelayMS) * time.Millisecond,
		Break:      fr.Break, Malformed: fr.Malformed,
	}
	if fr.Spec != "" {
		sf, err := ParseFault(fr.Spec)
		if err != nil {
			return Fault{}, err
		}
		f = sf.merge(f)
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return Fault{}, fmt.Errorf("status %d: want 400-599", f.Status)
	}
	if f.isZero() {
		return Fault{}, fmt.Errorf("empty fault: give spec or at least one field")
	}
	return f, nil
}

// serveControl implements:
//
//	GET    /__mock/health     200 {"status":"ok"}
//	POST   /__mock/faults     queue a FaultRequest       → 200 {"queued":N}
//	DELETE /__mock/faults     drop queued faults         → 204
//	GET    /__mock/requests   recorded requests (?kind=) → 200 [Request…] by arrival
//	DELETE /__mock/requests   forget recorded requests   → 204
func serveControl(w http.ResponseWriter, r *http.Request, servers []*Server) {
	switch r.Method + " " + r.URL.Path {
	case "GET /__mock/health":
		controlJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case "POST /__mock/faults":
		postFaults(w, r, servers)
	case "DELETE /__mock/faults":
		for _, s := range servers {
			s.ClearFaults()
		}
		w.WriteHeader(http.StatusNoContent)
	case "GET /__mock/requests":
		getRequests(w, r, servers)
	case "DELETE /__mock/requests":
		for _, s := range servers {
			s.ResetRequests()
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		controlJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control endpoint " + r.Method + " " + r.URL.Path})
	}
}

func postFaults(w http.ResponseWriter, r *http.Request, servers []*Server) {
	var fr FaultRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fr); err != nil {
		controlJSON(w, http.StatusBadRequest, map[string]string{"error": "fault request: " + err.Error()})
		return
	}
	f, err := fr.Fault()
	if err != nil {
		controlJSON(w, http.StatusBadRequest, map[string]string{"error": "fault request: " + err.Error()})
		return
	}
	n := fr.Count
	if n <= 0 {
		n = 1
	}
	queued := 0
	for _, s := range servers {
		if fr.Kind == "" || fr.Kind == s.kind {
			s.FailNext(n, f)
			queued += n
		}
	}
	if queued == 0 {
		controlJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("fault request: no server of kind %q here", fr.Kind)})
		return
	}
	controlJSON(w, http.StatusOK, map[string]int{"queued": queued})
}

func getRequests(w http.ResponseWriter, r *http.Request, servers []*Server) {
	kind := Kind(r.URL.Query().Get("kind"))
	all := []Request{}
	for _, s := range servers {
		if kind == "" || kind == s.kind {
			all = append(all, s.Requests()...)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].arrival < all[j].arrival })
	controlJSON(w, http.StatusOK, all)
}

func controlJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
