package gittest

import (
	"bytes"
	"compress/gzip"
	"crypto/subtle"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// HTTPServer serves one bare repository through git http-backend.
type HTTPServer struct {
	// URL is the repository's URL, http://127.0.0.1:PORT/repo.git.
	URL string

	uploads atomic.Int64
	refs    atomic.Int64
}

// Fetches counts the upload-pack requests: fetches (and clones) that asked
// for objects. Listing refs alone doesn't count.
func (s *HTTPServer) Fetches() int { return int(s.uploads.Load()) }

// Listings counts the ref advertisements served (every ls-remote and fetch starts with one).
func (s *HTTPServer) Listings() int { return int(s.refs.Load()) }

// ServeHTTP serves the bare repository at bareDir over smart HTTP until the
// test ends. With a non-empty token, requests must carry it as the password
// of basic auth (any user name) or as a bearer token, like a Git forge's
// access token; others get 401.
func ServeHTTP(t testing.TB, bareDir, token string) *HTTPServer {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("finding git's exec path (run scripts/test-deps): %v", err)
	}
	backend := &cgi.Handler{
		Path:   filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Stderr: io.Discard, // "not a git repository" and the like, for requests tests make on purpose
		Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Dir(bareDir),
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=flotilla",
			"GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_CONFIG_NOSYSTEM=1",
		},
	}
	s := &HTTPServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if token != "" && !authorized(req, token) {
			w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if err := s.count(req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/" + filepath.Base(bareDir)
	return s
}

// count tells listings from fetches. Protocol v0 (go-git) lists refs with
// GET info/refs and fetches with POST git-upload-pack; protocol v2 (the git
// CLI) follows that GET with a POST saying command=ls-refs in the body.
func (s *HTTPServer) count(req *http.Request) error {
	if strings.HasSuffix(req.URL.Path, "/info/refs") {
		s.refs.Add(1)
		return nil
	}
	if !strings.HasSuffix(req.URL.Path, "/git-upload-pack") {
		return nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	plain := body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return err
		}
		if plain, err = io.ReadAll(zr); err != nil {
			return err
		}
	}
	// A v2 ls-refs always follows a GET info/refs, counted already.
	if !bytes.Contains(plain, []byte("command=ls-refs")) {
		s.uploads.Add(1)
	}
	return nil
}

func authorized(req *http.Request, token string) bool {
	got := ""
	if _, pw, ok := req.BasicAuth(); ok {
		got = pw
	} else if b, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		got = b
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
