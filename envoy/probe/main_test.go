package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/healthcheck" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()

	if err := probe(srv.URL+"/healthcheck", time.Second); err != nil {
		t.Errorf("healthy server: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := probe(srv.URL+"/healthcheck", time.Second); err == nil {
		t.Error("503: want an error")
	}
	if err := probe(srv.URL+"/other", time.Second); err == nil {
		t.Error("404: want an error")
	}
	addr := srv.Listener.Addr().String()
	srv.Close()
	if err := probe("http://"+addr+"/healthcheck", time.Second); err == nil {
		t.Error("closed server: want an error")
	}
	if err := probe("::bad", time.Second); err == nil {
		t.Error("bad URL: want an error")
	}
}

func TestProbeTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	if err := probe(srv.URL, 100*time.Millisecond); err == nil {
		t.Error("hanging server: want an error")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("probe took %v, want about its timeout", d)
	}
}
