package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

func TestClient(t *testing.T) {
	op := withStaging(newFakeOperator())
	op.rollback = func(env, to string) (*sync.Report, error) {
		return nil, errors.New("rolling back " + env + ": no earlier successful deploy to roll back to")
	}
	h := start(t, op, true)
	ctx := t.Context()
	c := &Client{URL: h.url + "/", Token: testToken}

	list, err := c.Environments(ctx)
	if err != nil || len(list) != 3 || list[2].Deployed == nil || list[2].Deployed.SHA != deployedRev.SHA {
		t.Errorf("Environments: %+v, %v", list, err)
	}
	st, err := c.Status(ctx, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(op.status["staging"], st.Sync()); d != "" {
		t.Errorf("Status (-want +got):\n%s", d)
	}
	records, err := c.History(ctx, "staging")
	if err != nil || len(records) != 2 || records[1].Outcome != sync.RolledBack {
		t.Errorf("History: %+v, %v", records, err)
	}
	if _, err := c.Sync(ctx, "staging", true); err != nil {
		t.Errorf("Sync: %v", err)
	}
	if d := cmp.Diff([]call{{"staging", sync.TriggerManual, true}}, op.triggered()); d != "" {
		t.Errorf("triggers (-want +got):\n%s", d)
	}
	if err := c.Resume(ctx, "review"); err != nil {
		t.Errorf("Resume: %v", err)
	}

	_, err = c.Rollback(ctx, "staging", "")
	apiErr, ok := errors.AsType[*APIError](err)
	if !ok || apiErr.Status != http.StatusConflict || apiErr.Message != "rolling back staging: no earlier successful deploy to roll back to" {
		t.Errorf("Rollback: %v, want a 409 APIError with the operator's message", err)
	}
	_, err = c.Status(ctx, "qa")
	if apiErr, ok := errors.AsType[*APIError](err); !ok || apiErr.Status != http.StatusNotFound {
		t.Errorf("Status of an unknown environment: %v, want a 404 APIError", err)
	}
	c.Token = "wrong"
	if _, err := c.Sync(ctx, "staging", false); err == nil {
		t.Errorf("Sync with a wrong token succeeded")
	}
}

func TestServeShutsDownWithTheContext(t *testing.T) {
	cfg := &environments.Server{Listen: "127.0.0.1:0"}
	s, err := New(cfg, newFakeOperator(), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	if code, _ := do(t, mustGet(t, url+"/healthz")); code != http.StatusOK {
		t.Fatalf("healthz %d", code)
	}
	if code, _ := do(t, mustGet(t, url+"/metrics")); code != http.StatusNotFound {
		t.Errorf("/metrics without a registry: %d, want 404", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(shutdownGrace + 5*time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if resp, err := http.DefaultClient.Do(mustGet(t, url+"/healthz")); err == nil {
		resp.Body.Close()
		t.Errorf("still serving after shutdown")
	}
}

func TestNewRefusesUnreadableSecrets(t *testing.T) {
	op := newFakeOperator()
	for name, cfg := range map[string]*environments.Server{
		"token":   {TokenFile: t.TempDir() + "/missing"},
		"webhook": {Webhooks: map[environments.WebhookKind]*environments.Webhook{environments.GitHub: {SecretFile: writeSecret(t, "empty", "")}}},
	} {
		if _, err := New(cfg, op, nil, nil); err == nil {
			t.Errorf("%s: New accepted an unreadable secret", name)
		}
	}
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
