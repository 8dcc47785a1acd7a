package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	gosync "sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nicholas-fedor/shoutrrr/pkg/format"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flotilla-gitops/flotilla/environments"
)

// request is what a receiver got.
type request struct {
	Path, Query, Title, Auth, Body string
}

// receiver is a local HTTP server standing for ntfy, Gotify or any webhook:
// it records requests and answers with status and body.
type receiver struct {
	mu   gosync.Mutex
	got  []request
	srv  *httptest.Server
	host string
}

func newReceiver(t *testing.T, status int, body string) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{Path: req.URL.Path, Query: req.URL.RawQuery, Title: req.Header.Get("Title"),
			Auth: req.Header.Get("Authorization"), Body: string(b)})
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(r.srv.Close)
	r.host = r.srv.Listener.Addr().String()
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

var rolledBack = Event{Kind: RolledBack, Environment: "prod", Stack: "shop-prod", Commit: CommitOf(tipRev),
	Message: "api did not converge", Time: testTime}

func TestNotifyThroughShoutrrr(t *testing.T) {
	ntfy := newReceiver(t, http.StatusOK, `{"id":"x1"}`)
	gotify := newReceiver(t, http.StatusOK, `{"id":1}`)
	hook := newReceiver(t, http.StatusOK, ``)
	const gotifyToken = "AbCdEfGh1234567"
	list := []*environments.Notification{
		{Type: environments.ShoutrrrNotification, URL: "ntfy://" + ntfy.host + "/deploys?disabletls=yes"},
		{Type: environments.ShoutrrrNotification, URLFile: writeSecret(t, "gotify", "gotify://"+gotify.host+"/"+gotifyToken+"?disabletls=yes")},
		{Type: environments.ShoutrrrNotification, URL: "generic://" + hook.host + "/hook?disabletls=yes&template=json", Events: []string{"rolledBack"}},
	}
	for _, n := range list {
		if n.URL != "" {
			if err := environments.CheckShoutrrrURL(n.URL); err != nil {
				t.Fatalf("the configuration would refuse %s: %v", n.URL, err)
			}
		}
	}
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	n := NewNotifier(t.Context(), list, nil, m, slog.New(slog.NewTextHandler(logs, nil)))
	succeeded := Event{Kind: DeploySucceeded, Environment: "staging", Stack: "shop-staging", Commit: CommitOf(deployedRev), Time: testTime}
	n.Notify(succeeded)
	n.Notify(rolledBack)
	if err := n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l := logs.String(); l != "" {
		t.Fatalf("logged:\n%s", l)
	}

	succeededLine := CommitOf(deployedRev).Short() + " " + CommitOf(deployedRev).Subject + " — " + CommitOf(deployedRev).Author
	rolledBackBody := CommitOf(tipRev).Short() + " api: v3 — Bob\napi did not converge"
	wantNtfy := []request{
		{Path: "/deploys", Title: "✅ staging (shop-staging): deploy succeeded", Body: succeededLine},
		{Path: "/deploys", Title: "⏪ prod (shop-prod): rolled back", Body: rolledBackBody},
	}
	if d := cmp.Diff(wantNtfy, ntfy.requests()); d != "" {
		t.Errorf("ntfy got (-want +got):\n%s", d)
	}

	var gotifyMsgs []map[string]any
	for _, r := range gotify.requests() {
		if r.Path != "/message" || r.Query != "token="+gotifyToken {
			t.Errorf("gotify request to %s?%s", r.Path, r.Query)
		}
		var msg map[string]any
		if err := json.Unmarshal([]byte(r.Body), &msg); err != nil {
			t.Fatalf("gotify body %q: %v", r.Body, err)
		}
		gotifyMsgs = append(gotifyMsgs, map[string]any{"title": msg["title"], "message": msg["message"]})
	}
	wantGotify := []map[string]any{
		{"title": "✅ staging (shop-staging): deploy succeeded", "message": succeededLine},
		{"title": "⏪ prod (shop-prod): rolled back", "message": rolledBackBody},
	}
	if d := cmp.Diff(wantGotify, gotifyMsgs); d != "" {
		t.Errorf("gotify got (-want +got):\n%s", d)
	}

	// The generic webhook takes only rolled-back events.
	hooked := hook.requests()
	if len(hooked) != 1 {
		t.Fatalf("generic webhook got %d requests, want 1", len(hooked))
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(hooked[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"title": "⏪ prod (shop-prod): rolled back", "message": rolledBackBody}, body); d != "" {
		t.Errorf("generic webhook body (-want +got):\n%s", d)
	}

	for i, want := range []float64{2, 2, 1} {
		name := n.targets[i].name
		if got := value(t, m.notifications.WithLabelValues(name, "sent")); got != want {
			t.Errorf("%s: %v sent, want %v", name, got, want)
		}
	}
	if name := n.targets[1].name; name != "shoutrrr gotify "+gotify.host {
		t.Errorf("target name %q: want the service and host, never the token", name)
	}
}

// Neither logs nor errors show any part of a shoutrrr URL that may be a
// credential, whatever shoutrrr's own errors say.
func TestShoutrrrErrorsNeverShowTheURL(t *testing.T) {
	refusing := newReceiver(t, http.StatusUnauthorized, `{"code":40101,"http":401,"error":"unauthorized"}`)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadHost := closed.Addr().String()
	closed.Close()

	credentials := []string{"s3cretpass", "topicsecret42", "tok-secret-123", "AbCdEfGh1234567"}
	list := []*environments.Notification{
		{Type: environments.ShoutrrrNotification, URL: "ntfy://deploy:s3cretpass@" + refusing.host + "/topicsecret42?disabletls=yes"},
		{Type: environments.ShoutrrrNotification, URL: "generic://" + deadHost + "/hook?disabletls=yes&token=tok-secret-123"},
		{Type: environments.ShoutrrrNotification, URLFile: writeSecret(t, "gotify", "gotify://"+deadHost+"/AbCdEfGh1234567?disabletls=yes")},
		{Type: environments.ShoutrrrNotification, URL: "nosuchservice://tok-secret-123@x"},
	}
	logs := &logBuffer{}
	m := NewMetrics(prometheus.NewRegistry())
	n := NewNotifier(t.Context(), list, nil, m, slog.New(slog.NewTextHandler(logs, nil)))
	for _, tg := range n.targets {
		tg.attempts, tg.backoff = 1, 0
	}
	n.Notify(rolledBack)
	if err := n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	l := logs.String()
	if got := strings.Count(l, "notification failed"); got != len(list) {
		t.Errorf("%d failures logged, want %d:\n%s", got, len(list), l)
	}
	for _, c := range credentials {
		if strings.Contains(l, c) {
			t.Errorf("the logs show %q:\n%s", c, l)
		}
	}
	// What went wrong is still said.
	for _, want := range []string{"401", "connection refused", "nosuchservice"} {
		if !strings.Contains(l, want) {
			t.Errorf("the logs do not say %q:\n%s", want, l)
		}
	}
	if got := refusing.requests(); len(got) != 1 || got[0].Auth == "" {
		t.Errorf("the refusing server got %+v, want one request with the credentials", got)
	}
	for _, tg := range n.targets {
		if got := value(t, m.notifications.WithLabelValues(tg.name, "failed")); got != 1 {
			t.Errorf("%s: failed %v, want 1", tg.name, got)
		}
	}
}

// A rotated URL file is read at the next send, and the service set up anew.
func TestShoutrrrURLFileRotation(t *testing.T) {
	first := newReceiver(t, http.StatusOK, `{"id":"1"}`)
	second := newReceiver(t, http.StatusOK, `{"id":"2"}`)
	file := writeSecret(t, "ntfy", "ntfy://"+first.host+"/one?disabletls=yes")
	tg := NewNotifier(t.Context(), []*environments.Notification{{Type: environments.ShoutrrrNotification, URLFile: file}}, nil, nil, nil).targets[0]
	if err := tg.shout(t.Context(), rolledBack); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("ntfy://"+second.host+"/two?disabletls=yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tg.shout(t.Context(), rolledBack); err != nil {
		t.Fatal(err)
	}
	if len(first.requests()) != 1 || len(second.requests()) != 1 || second.requests()[0].Path != "/two" {
		t.Errorf("first got %v, second %v", first.requests(), second.requests())
	}
}

// untitledService stands for a service without a title field: shoutrrr
// refuses the title parameter.
type untitledService struct {
	types.Service
	sent []string
}

func (s *untitledService) Send(message string, params *types.Params) error {
	if _, ok := params.Title(); ok {
		return fmt.Errorf("updating config from params: %w: title", format.ErrInvalidConfigKey)
	}
	s.sent = append(s.sent, message)
	return nil
}

func TestShoutrrrHeadlineWithoutTitle(t *testing.T) {
	t.Parallel()
	fake := &untitledService{}
	untitled, err := shoutrrrSend(fake, rolledBack, false)
	if err != nil || !untitled {
		t.Fatalf("first send: untitled %v, %v", untitled, err)
	}
	if untitled, err = shoutrrrSend(fake, rolledBack, true); err != nil || !untitled {
		t.Fatalf("second send: untitled %v, %v", untitled, err)
	}
	want := "⏪ prod (shop-prod): rolled back\n" + CommitOf(tipRev).Short() + " api: v3 — Bob\napi did not converge"
	if d := cmp.Diff([]string{want, want}, fake.sent); d != "" {
		t.Errorf("sent (-want +got):\n%s", d)
	}
}

func TestScrubURL(t *testing.T) {
	t.Parallel()
	raw := "telegram://123456:AAHtok-en_x@telegram?chats=@secretchannel&parsemode=none"
	err := scrubURL(errors.New(`Post "https://api.telegram.org/bot123456:AAHtok-en_x/sendMessage": dial tcp: i/o timeout; chats=%40secretchannel`), raw)
	for _, s := range []string{"AAHtok-en_x", "secretchannel"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%q left in %q", s, err)
		}
	}
	if !strings.Contains(err.Error(), "i/o timeout") || !strings.Contains(err.Error(), "api.telegram.org") {
		t.Errorf("the cause is gone: %q", err)
	}
}
