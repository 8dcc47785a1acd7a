package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

// Secrets the tests check never leak into logs or answers.
const (
	testToken   = "tok-3f9a1c2e7b-5d6e7f8091a2b3c4d5e6"
	testGitHub  = "gh-secret-91ad-0f1e2d3c4b5a69788796"
	testGitLab  = "gl-secret-27cf-1a2b3c4d5e6f70819203"
	testGitea   = "gt-secret-55e0-9f8e7d6c5b4a39281706"
	testGeneric = "gn-secret-c4b8-6e5d4c3b2a1908f7e6d5"
	// testReadToken can only read.
	testReadToken = "rd-77c1e0b9a8f6-4d3c2b1a09f8e7d6c5b4"
)

// call is one Trigger the fake received.
type call struct {
	Env     string
	Trigger sync.Trigger
	Force   bool
}

// fakeOperator is an Operator with three environments: staging and review
// follow main of acme/shop, prod follows its prod branch.
type fakeOperator struct {
	cfg      *environments.Config
	readyErr error
	status   map[string]*sync.Status
	history  map[string][]sync.Record
	// historyErr fails History, as a reload removing the environment does.
	historyErr error
	rollback   func(env, to string) (*sync.Report, error)

	mu      gosync.Mutex
	calls   []call
	resumed []string
}

var (
	_ Operator = (*fakeOperator)(nil)
	_ Operator = (*sync.Operator)(nil)
)

func newFakeOperator() *fakeOperator {
	repo := &environments.Repo{Name: "shop", URL: "git@github.com:acme/shop.git"}
	env := func(name, branch string) *environments.EnvironmentSpec {
		return &environments.EnvironmentSpec{Name: name, Repo: "shop", Branch: branch, Stack: "shop-" + name}
	}
	return &fakeOperator{
		cfg: &environments.Config{
			Repos: map[string]*environments.Repo{"shop": repo},
			Environments: map[string]*environments.EnvironmentSpec{
				"staging": env("staging", "main"), "review": env("review", "main"), "prod": env("prod", "prod"),
			},
		},
		status:  map[string]*sync.Status{},
		history: map[string][]sync.Record{},
	}
}

func (f *fakeOperator) Config() *environments.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// reload replaces the configuration, as a SIGHUP does.
func (f *fakeOperator) reload(cfg *environments.Config) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = cfg
}

func (f *fakeOperator) Ready(context.Context) error { return f.readyErr }
func (f *fakeOperator) Resume(_ context.Context, env string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumed = append(f.resumed, env)
	return nil
}

func (f *fakeOperator) Status(_ context.Context, env string) (*sync.Status, error) {
	if st, ok := f.status[env]; ok {
		return st, nil
	}
	return nil, errors.New("cluster unreachable")
}

func (f *fakeOperator) History(_ context.Context, env string) ([]sync.Record, error) {
	return f.history[env], f.historyErr
}

func (f *fakeOperator) Trigger(env string, t sync.Trigger, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{env, t, force})
	return nil
}

func (f *fakeOperator) Rollback(_ context.Context, env, to string) (*sync.Report, error) {
	return f.rollback(env, to)
}

func (f *fakeOperator) triggered() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// logBuffer collects log output from concurrent handlers.
type logBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a running server on a real listener.
type harness struct {
	op      *fakeOperator
	url     string
	logs    *logBuffer
	answers *logBuffer
	reg     *prometheus.Registry
	metrics *Metrics
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content+"\n"), 0o600) }

// writeSecret puts a secret in a file the way Docker secrets and editors
// leave them: with a trailing newline.
func writeSecret(t *testing.T, name, value string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := writeFile(p, value); err != nil {
		t.Fatal(err)
	}
	return p
}

// start runs a server with a token and the given webhooks configured.
func start(t *testing.T, op *fakeOperator, token bool, hooks ...environments.WebhookKind) *harness {
	t.Helper()
	return startWith(t, op, func(cfg *environments.Server) {
		if !token {
			cfg.TokenFile = ""
		}
	}, hooks...)
}

// startWith runs a server with the token and the webhooks, after edit
// changed its configuration.
func startWith(t *testing.T, op *fakeOperator, edit func(*environments.Server), hooks ...environments.WebhookKind) *harness {
	t.Helper()
	secrets := map[environments.WebhookKind]string{environments.GitHub: testGitHub, environments.GitLab: testGitLab,
		environments.Gitea: testGitea, environments.Generic: testGeneric}
	cfg := &environments.Server{Listen: "127.0.0.1:0", Webhooks: map[environments.WebhookKind]*environments.Webhook{},
		TokenFile: writeSecret(t, "token", testToken)}
	for _, k := range hooks {
		cfg.Webhooks[k] = &environments.Webhook{SecretFile: writeSecret(t, string(k), secrets[k])}
	}
	edit(cfg)
	h := &harness{op: op, logs: &logBuffer{}, answers: &logBuffer{}, reg: prometheus.NewRegistry()}
	t.Cleanup(func() {
		for _, secret := range []string{testToken, testReadToken, testGitHub, testGitLab, testGitea, testGeneric} {
			if strings.Contains(h.logs.String(), secret) || strings.Contains(h.answers.String(), secret) {
				t.Errorf("a secret (%.6s…) is in the logs or an answer", secret)
			}
		}
	})
	h.metrics = NewMetrics(h.reg)
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg, op, h.metrics, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

var allHooks = []environments.WebhookKind{environments.GitHub, environments.GitLab, environments.Gitea, environments.Generic}

// post sends body with headers and returns the status and answer.
func (h *harness) post(t *testing.T, path string, body []byte, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return h.do(t, req)
}

// get reads without a token.
func (h *harness) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return h.getAs(t, path, "")
}

// read reads with the write token, which allows everything.
func (h *harness) read(t *testing.T, path string) (int, string) {
	t.Helper()
	return h.getAs(t, path, testToken)
}

func (h *harness) getAs(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(t, req)
}

func (h *harness) do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	code, body := do(t, req)
	fmt.Fprintf(h.answers, "%d %s\n", code, body)
	return code, body
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b.String()
}

var testTime = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
