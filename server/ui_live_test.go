package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

// stream is one browser's event stream.
type stream struct {
	t    *testing.T
	r    *bufio.Reader
	stop context.CancelFunc
}

// openStream connects to path as a browser whose page is at event since,
// with token's bearer (or none).
func openStream(t *testing.T, base, path, token string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &stream{t: t, r: bufio.NewReader(resp.Body), stop: cancel}
}

// next reads the next event, with its id ("" when it has none).
func (s *stream) next() (liveEvent, string) {
	s.t.Helper()
	var id, data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			var ev liveEvent
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				s.t.Fatalf("event %q: %v", data, err)
			}
			return ev, id
		}
	}
}

func liveServer(t *testing.T, l *Live, edit func(*environments.Server)) string {
	t.Helper()
	cfg := &environments.Server{TokenFile: writeSecret(t, "token", testToken)}
	edit(cfg)
	s, err := New(cfg, withDashboard(newFakeOperator()), nil, slog.New(slog.DiscardHandler), WithLive(l))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDashboardLiveEvents(t *testing.T) {
	l := NewLive()
	base := liveServer(t, l, func(*environments.Server) {})
	// A page rendered at event 0 is current: no resync first.
	all := openStream(t, base, "/events?since=0", testToken)
	prod := openStream(t, base, "/events?since=0&env=prod", testToken)

	l.PassStarted("staging", sync.TriggerWebhook)
	if ev, _ := all.next(); ev.Kind != "started" || ev.Env != "staging" || ev.Trigger != sync.TriggerWebhook {
		t.Fatalf("first event %+v, want staging's start", ev)
	}
	l.Progress("staging", []apply.Status{{Service: "shop-staging_api", Phase: apply.PhaseFailed, Running: 0, Desired: 1,
		Reason: "3 tasks failed: task: non-zero exit (1)"}})
	if ev, _ := all.next(); ev.Kind != "progress" || len(ev.Services) != 1 || ev.Services[0].Phase != apply.PhaseFailed ||
		!strings.Contains(ev.Services[0].Reason, "non-zero exit") {
		t.Fatalf("progress event %+v", ev)
	}
	rec := failedRecord
	rec.Error = "services failed: shop-staging_api: task: non-zero exit (1)"
	finished := sync.PassEvent{Environment: "staging", Stack: "shop-staging", Trigger: sync.TriggerWebhook, Took: 3 * time.Second,
		Report: &sync.Report{Environment: "staging", Commit: tipRev, Record: &rec,
			Plan: diff.Plan{Stack: "shop-staging", Changes: []diff.Change{{Kind: diff.KindService, Name: "shop-staging_api",
				Action: diff.ActionUpdate, Fields: []diff.Field{{Path: "TaskTemplate.ContainerSpec.Env[CRASH]", Old: "0", New: "1"}}}}}}}
	l.PassFinished(finished)
	ev, id := all.next()
	if ev.Kind != "finished" || !ev.Failed || ev.Outcome != string(sync.RolledBack) || !ev.Refresh || id != "1" ||
		!strings.Contains(ev.Error, "non-zero exit") || ev.Commit != "9a8b7c6" {
		t.Fatalf("finished event %+v id %q, want the rollback with its error, refreshing the page as event 1", ev, id)
	}
	// The same result again (a poll that finds the quarantined tip) changes
	// no page.
	l.PassStarted("staging", sync.TriggerSchedule)
	l.PassFinished(finished)
	all.next()
	if ev, id := all.next(); ev.Kind != "finished" || ev.Refresh || id != "" {
		t.Errorf("a repeated result %+v id %q, want no refresh", ev, id)
	}
	// The environment's page shows the pass's plan field by field.
	code, page := getWith(t, base+"/environments/staging", testToken)
	if code != http.StatusOK || !strings.Contains(page, "TaskTemplate.ContainerSpec.Env[CRASH]") || !strings.Contains(page, `data-since="1"`) {
		t.Errorf("the page after the pass: %d, want its last plan and event number 1", code)
	}

	// prod's stream saw none of staging's events; it gets prod's.
	l.PassStarted("prod", sync.TriggerManual)
	if ev, _ := prod.next(); ev.Env != "prod" || ev.Kind != "started" {
		t.Errorf("prod's stream got %+v first, want prod's start", ev)
	}

	if ev, _ := all.next(); ev.Env != "prod" {
		t.Errorf("the stream of all got %+v, want prod's start", ev)
	}
	// Drift found by a pass that did not heal it is its own event.
	l.PassFinished(sync.PassEvent{Environment: "staging", Trigger: sync.TriggerSchedule, Report: &sync.Report{Environment: "staging",
		Commit: deployedRev, Drift: true, Skip: sync.SkipDrift, SkipMessage: "drifted; selfHeal is warn",
		Plan: diff.Plan{Changes: []diff.Change{{Kind: diff.KindService, Name: "shop-staging_api", Action: diff.ActionUpdate}}}}})
	if ev, id := all.next(); ev.Kind != "finished" || ev.Drift != 1 || !ev.Refresh || id != "2" {
		t.Errorf("a drifted pass %+v id %q, want finished with 1 drifted object, as event 2", ev, id)
	}
	if ev, _ := all.next(); ev.Kind != "drift" || ev.Drift != 1 || ev.Env != "staging" {
		t.Errorf("then %+v, want the drift event", ev)
	}

	// A browser that connects during a pass sees it; one whose page is
	// older than the last refresh is told to refresh first.
	late := openStream(t, base, "/events?since=0", testToken)
	if ev, id := late.next(); ev.Kind != "resync" || id != "3" {
		t.Errorf("a stale page's first event %+v id %q, want a resync at 3", ev, id)
	}
	if ev, _ := late.next(); ev.Kind != "started" || ev.Env != "prod" {
		t.Errorf("then %+v, want prod's running pass", ev)
	}
}

func TestDashboardLiveEventsHideErrorsFromThePublic(t *testing.T) {
	l := NewLive()
	base := liveServer(t, l, func(cfg *environments.Server) { cfg.PublicRead = true })
	public := openStream(t, base, "/events?since=0", "")
	l.PassFinished(sync.PassEvent{Environment: "prod", Trigger: sync.TriggerSchedule, Err: errors.New("reading /srv/secret/key: permission denied")})
	if ev, _ := public.next(); ev.Kind != "finished" || ev.Error != hiddenError || !ev.Failed {
		t.Errorf("a public reader's event %+v, want its error hidden", ev)
	}
}

// The stream ends when the server shuts down: it does not hold Shutdown
// for its whole grace period.
func TestDashboardStreamsEndOnShutdown(t *testing.T) {
	cfg := &environments.Server{Listen: "127.0.0.1:0", TokenFile: writeSecret(t, "token", testToken)}
	s, err := New(cfg, withDashboard(newFakeOperator()), nil, nil)
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
	st := openStream(t, "http://"+ln.Addr().String(), "/events", testToken)
	if ev, _ := st.next(); ev.Kind != "resync" {
		t.Fatalf("first event %+v, want a resync (no since given)", ev)
	}
	began := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if took := time.Since(began); took >= shutdownGrace {
		t.Errorf("shutdown took %s with a stream open", took)
	}
}

func getWith(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return do(t, req)
}
