package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flotilla-gitops/flotilla/environments"
)

// slackPath is the secret part of a Slack incoming-webhook URL.
const slackPath = "/services/T0000/B0000/XyZsecret42"

// inbox is a receiving HTTP server that records bodies by path.
type inbox struct {
	mu     gosync.Mutex
	bodies map[string][]string
	srv    *httptest.Server
}

func newInbox(t *testing.T, handle func(w http.ResponseWriter, hits int)) *inbox {
	in := &inbox{bodies: map[string][]string{}}
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		in.mu.Lock()
		in.bodies[r.URL.Path] = append(in.bodies[r.URL.Path], string(b))
		hits := len(in.bodies[r.URL.Path])
		in.mu.Unlock()
		if handle != nil {
			handle(w, hits)
		}
	}))
	t.Cleanup(in.srv.Close)
	return in
}

func (in *inbox) got(path string) []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.bodies[path]...)
}

var quarantine = Event{Kind: CommitQuarantined, Environment: "staging", Stack: "shop-staging", Commit: CommitOf(tipRev),
	Message: "commit 9a8b7c6 is quarantined: <api> did not converge", Time: testTime}

func TestNotifyDeliversToWebhookAndSlack(t *testing.T) {
	in := newInbox(t, nil)
	list := []*environments.Notification{
		{Type: environments.WebhookNotification, URL: in.srv.URL + "/hook", Environments: []string{"staging"}},
		{Type: environments.SlackNotification, URLFile: writeSecret(t, "slack", in.srv.URL+slackPath), Events: []string{"failed", "rolledBack"}},
	}
	logs := &logBuffer{}
	n := NewNotifier(t.Context(), list, nil, NewMetrics(prometheus.NewRegistry()), slog.New(slog.NewTextHandler(logs, nil)))
	succeeded := Event{Kind: DeploySucceeded, Environment: "staging", Stack: "shop-staging", Commit: CommitOf(deployedRev), Time: testTime}
	rolledBack := Event{Kind: RolledBack, Environment: "prod", Stack: "shop-prod", Commit: CommitOf(tipRev), Message: "api did not converge", Time: testTime}
	n.Notify(succeeded)
	n.Notify(rolledBack)
	n.Notify(quarantine)
	if err := n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	var hooked []Event
	for _, b := range in.got("/hook") {
		var e Event
		if err := json.Unmarshal([]byte(b), &e); err != nil {
			t.Fatalf("webhook body %s: %v", b, err)
		}
		hooked = append(hooked, e)
	}
	if d := cmp.Diff([]Event{succeeded, quarantine}, hooked); d != "" {
		t.Errorf("webhook events (-want +got):\n%s", d)
	}
	want := []string{
		`{"text":":rewind: *prod* (shop-prod) rolled back: ` + "`9a8b7c6`" + ` api: v3 — Bob\napi did not converge"}`,
		`{"text":":no_entry: *staging* (shop-staging) commit quarantined: ` + "`9a8b7c6`" + ` api: v3 — Bob\ncommit 9a8b7c6 is quarantined: \u0026lt;api\u0026gt; did not converge"}`,
	}
	if d := cmp.Diff(want, in.got(slackPath)); d != "" {
		t.Errorf("slack bodies (-want +got):\n%s", d)
	}
	if l := logs.String(); l != "" {
		t.Errorf("logged on success: %s", l)
	}
}

func TestNotifyRetriesAFailingTargetWithoutBlocking(t *testing.T) {
	release := make(chan struct{})
	hit := make(chan struct{}, 10)
	in := newInbox(t, func(w http.ResponseWriter, hits int) {
		hit <- struct{}{}
		if hits == 1 {
			<-release // the first attempt hangs until Notify has returned
		}
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	logs := &logBuffer{}
	list := []*environments.Notification{{Type: environments.SlackNotification, URLFile: writeSecret(t, "slack", in.srv.URL+slackPath)}}
	n := NewNotifier(t.Context(), list, nil, m, slog.New(slog.NewTextHandler(logs, nil)))
	n.targets[0].backoff = time.Millisecond
	n.Notify(quarantine)
	<-hit
	n.Notify(quarantine) // returns while the target hangs
	close(release)
	if err := n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := len(in.got(slackPath)); got != 6 {
		t.Errorf("%d attempts for two events, want 3 each", got)
	}
	name := n.targets[0].name
	if f := value(t, m.notifications.WithLabelValues(name, "failed")); f != 2 {
		t.Errorf("failed count %v, want 2", f)
	}
	l := logs.String()
	if !strings.Contains(l, "notification failed") || !strings.Contains(l, "500 Internal Server Error") {
		t.Errorf("the failure is not logged:\n%s", l)
	}
	if strings.Contains(l, "XyZsecret42") {
		t.Errorf("the Slack URL's secret path is in the logs:\n%s", l)
	}
}

// stuckTransport answers nothing until its request's context ends, and
// records when each attempt started.
type stuckTransport struct {
	mu       gosync.Mutex
	attempts []time.Time
	answer   func() (*http.Response, error)
}

func (s *stuckTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.attempts = append(s.attempts, time.Now())
	s.mu.Unlock()
	if s.answer != nil {
		return s.answer()
	}
	<-r.Context().Done()
	return nil, r.Context().Err()
}

func TestNotifyBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &stuckTransport{answer: func() (*http.Response, error) { return nil, errors.New("connection refused") }}
		list := []*environments.Notification{{Type: environments.WebhookNotification, URL: "http://hooks.example.com/x"}}
		n := NewNotifier(t.Context(), list, &http.Client{Transport: tr}, nil, nil)
		start := time.Now()
		n.Notify(quarantine)
		if err := n.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		var offsets []time.Duration
		for _, at := range tr.attempts {
			offsets = append(offsets, at.Sub(start))
		}
		if d := cmp.Diff([]time.Duration{0, time.Second, 3 * time.Second}, offsets); d != "" {
			t.Errorf("attempt times (-want +got):\n%s", d)
		}
	})
}

func TestNotifyHangingTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &stuckTransport{}
		m := NewMetrics(prometheus.NewRegistry())
		list := []*environments.Notification{{Type: environments.WebhookNotification, URL: "http://hooks.example.com/x"}}
		n := NewNotifier(t.Context(), list, &http.Client{Transport: tr}, m, nil)
		start := time.Now()
		n.Notify(Event{Kind: DriftDetected, Environment: "staging", Message: "event 1"})
		synctest.Wait() // the sender now hangs in its first attempt
		for i := 2; i <= notifyQueue+5; i++ {
			n.Notify(Event{Kind: DriftDetected, Environment: "staging"})
		}
		if time.Since(start) != 0 {
			t.Errorf("Notify waited %v", time.Since(start))
		}
		if d := value(t, m.notifications.WithLabelValues(n.targets[0].name, "dropped")); d != 4 {
			t.Errorf("dropped %v events, want the 4 oldest queued", d)
		}
		// Each attempt times out after 5s: the first event's attempts
		// start at 0s and 6s; Close gives up at 12s, in the second backoff,
		// and abandons the queued events.
		ctx, cancel := context.WithTimeout(t.Context(), 12*time.Second)
		defer cancel()
		if err := n.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close: %v, want the deadline", err)
		}
		if got := time.Since(start); got != 12*time.Second {
			t.Errorf("Close returned after %v, want 12s", got)
		}
		if len(tr.attempts) != 2 {
			t.Errorf("%d attempts before Close gave up, want 2", len(tr.attempts))
		}
		if d := value(t, m.notifications.WithLabelValues(n.targets[0].name, "dropped")); d != 4+notifyQueue {
			t.Errorf("dropped %v events in all, want the 4 oldest and the %d queued", d, notifyQueue)
		}
	})
}
