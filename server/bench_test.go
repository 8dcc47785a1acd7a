package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flotilla-gitops/flotilla/environments"
)

// BenchmarkWebhookPush measures a signed GitHub push over a real
// connection, from request to Trigger having been called for the matching
// environment, with 20 environments on 20 repositories configured.
func BenchmarkWebhookPush(b *testing.B) {
	op := newFakeOperator()
	for i := range 20 {
		name := fmt.Sprintf("env%02d", i)
		op.cfg.Repos[name] = &environments.Repo{Name: name, URL: fmt.Sprintf("git@github.com:acme/app%02d.git", i)}
		op.cfg.Environments[name] = &environments.EnvironmentSpec{Name: name, Repo: name, Branch: "main", Stack: name}
	}
	dir := b.TempDir()
	secretFile := dir + "/github"
	if err := writeFile(secretFile, testGitHub); err != nil {
		b.Fatal(err)
	}
	cfg := &environments.Server{Webhooks: map[environments.WebhookKind]*environments.Webhook{environments.GitHub: {SecretFile: secretFile}}}
	s, err := New(cfg, op, NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	body := pushBody(environments.GitHub, "acme/app13", "main")
	header := signed(environments.GitHub, testGitHub, body)
	for b.Loop() {
		req, _ := http.NewRequestWithContext(b.Context(), http.MethodPost, srv.URL+"/hooks/github", bytes.NewReader(body))
		req.Header = header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.StopTimer()
	if n := len(op.triggered()); n < b.N {
		b.Fatalf("%d triggers for %d pushes", n, b.N)
	}
}
