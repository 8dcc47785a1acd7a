package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer healthy.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	tests := []struct {
		name     string
		url      string
		wantCode int // exitCode's result
		wantErr  string
	}{
		{"healthy", healthy.URL + "/healthz", 0, ""},
		{"wrong path", healthy.URL + "/nothing", 1, "404 Not Found"},
		{"unhealthy", failing.URL + "/healthz", 1, "503 Service Unavailable"},
		{"nothing listening", gone.URL + "/healthz", 1, "connection refused"},
		{"bad url", "http://[::1", 2, "--url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			root := newRootCmd(&stdout, &stderr)
			root.SetArgs([]string{"healthcheck", "--url", tt.url})
			err := root.ExecuteContext(t.Context())
			if code := exitCodeOf(err); code != tt.wantCode {
				t.Fatalf("exit code %d (err %v), want %d", code, err, tt.wantCode)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

// exitCodeOf is exitCode without printing.
func exitCodeOf(err error) int {
	if ee, ok := err.(*exitError); ok {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}
