package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

// TestWebhookReplayStartsNoSecondPass: a delivery seen before (a replay, or
// a forge retrying one that succeeded) triggers nothing; another delivery
// does.
func TestWebhookReplayStartsNoSecondPass(t *testing.T) {
	ids := map[environments.WebhookKind]string{environments.GitHub: "X-GitHub-Delivery", environments.Gitea: "X-Gitea-Delivery",
		environments.GitLab: "X-Gitlab-Event-UUID", environments.Generic: "X-Flotilla-Delivery"}
	for _, kind := range allHooks {
		t.Run(string(kind), func(t *testing.T) {
			op := newFakeOperator()
			configureRepo(op, kind)
			h := start(t, op, true, allHooks...)
			body := pushBody(kind, "acme/shop", "prod")
			header := signed(kind, hookSecrets[kind], body)
			header.Set(ids[kind], "72d3162e-cc78-11e3-81ab-4c9367dc0958")
			for i := range 3 {
				if code, answer := h.post(t, "/hooks/"+string(kind), body, header); code/100 != 2 {
					t.Fatalf("delivery %d: %d %s", i, code, answer)
				}
			}
			if got := op.triggered(); len(got) != 1 {
				t.Errorf("one delivery sent three times triggered %v, want one pass", got)
			}
			if n := value(t, h.metrics.webhooks.WithLabelValues(string(kind), hookDuplicate)); n != 2 {
				t.Errorf("duplicate count %v, want 2", n)
			}
			header.Set(ids[kind], "72d3162e-cc78-11e3-81ab-4c9367dc0959")
			if code, answer := h.post(t, "/hooks/"+string(kind), body, header); code != http.StatusAccepted {
				t.Fatalf("a new delivery: %d %s", code, answer)
			}
			if got := op.triggered(); len(got) != 2 {
				t.Errorf("a new delivery did not trigger: %v", got)
			}
		})
	}
}

// failingTrigger refuses triggers, as an operator shutting down does.
type failingTrigger struct{ *fakeOperator }

func (failingTrigger) Trigger(string, sync.Trigger, bool) error {
	return errors.New("operator stopping")
}

// TestWebhookRetryAfterFailure: a delivery that failed is not remembered,
// so the forge's retry with the same ID is acted on.
func TestWebhookRetryAfterFailure(t *testing.T) {
	op := newFakeOperator()
	body := pushBody(environments.GitHub, "acme/shop", "prod")
	header := signed(environments.GitHub, testGitHub, body)
	header.Set("X-GitHub-Delivery", "retry-me")
	s, err := New(&environments.Server{Webhooks: map[environments.WebhookKind]*environments.Webhook{
		environments.GitHub: {SecretFile: writeSecret(t, "gh", testGitHub)}}}, failingTrigger{op}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	h := &harness{op: op, url: srv.URL, logs: &logBuffer{}, answers: &logBuffer{}}
	if code, _ := h.post(t, "/hooks/github", body, header); code != http.StatusServiceUnavailable {
		t.Fatalf("failing trigger: %d, want 503", code)
	}
	s.op = op // the operator is back
	if code, answer := h.post(t, "/hooks/github", body, header); code != http.StatusAccepted {
		t.Fatalf("retry: %d %s", code, answer)
	}
	if got := op.triggered(); len(got) != 1 {
		t.Errorf("the retry of a failed delivery triggered %v, want one pass", got)
	}
}

func TestDeliveriesAreBounded(t *testing.T) {
	d := newDeliveries(3)
	for i := range 5 {
		if !d.reserve(fmt.Sprint(i)) {
			t.Fatalf("new id %d refused", i)
		}
		d.done(fmt.Sprint(i))
	}
	if len(d.seen) != 3 {
		t.Errorf("remembers %d ids, want 3", len(d.seen))
	}
	if d.reserve("4") {
		t.Error("a recent id was accepted again")
	}
	if !d.reserve("0") {
		t.Error("the oldest id is still remembered")
	}
}
