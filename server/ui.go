package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flotilla-gitops/flotilla/sync"
)

// The dashboard: server-rendered pages at /, live through server-sent
// events at /events, actions as HTML forms. Reads follow the API's rules
// (a token, or server.publicRead); a person signs in by pasting a token
// and gets a session cookie; every POST carries the session's CSRF token
// and passes net/http's cross-origin protection.

// dashboard is the UI's state.
type dashboard struct {
	pages    map[string]*template.Template
	assets   uiAssets
	sessions *sessions
	cop      *http.CrossOriginProtection
}

// Option configures a Server.
type Option func(*Server)

// WithLive has the dashboard show l's passes as they run: l must be what
// the operator reports to (an Observer and its Progress function).
// Without it the dashboard shows what each page load reads.
func WithLive(l *Live) Option { return func(s *Server) { s.live = l } }

// keepaliveEvery is how often an idle event stream says it is alive, so
// that proxies keep it open and a dead browser is noticed.
const keepaliveEvery = 25 * time.Second

// maxFormBody caps the dashboard's small forms.
const maxFormBody = 16 << 10

type (
	uiHandler    func(http.ResponseWriter, *http.Request, viewer)
	uiEnvHandler func(http.ResponseWriter, *http.Request, viewer, string)
)

func (s *Server) uiRoutes(mux *http.ServeMux) {
	s.ui = &dashboard{pages: parsePages(), assets: loadAssets(), sessions: newSessions(), cop: http.NewCrossOriginProtection()}
	post := func(h uiHandler) http.Handler { return s.ui.cop.Handler(s.uiPost(h)) }
	mux.HandleFunc("GET /{$}", s.uiReader(s.overviewPage))
	mux.HandleFunc("GET /environments/{env}", s.uiReader(s.uiEnv(s.environmentPage)))
	mux.HandleFunc("GET /fragments/row/{env}", s.uiFragment(s.uiEnv(s.rowFragment)))
	mux.HandleFunc("GET /fragments/environment/{env}", s.uiFragment(s.uiEnv(s.environmentFragment)))
	mux.HandleFunc("GET /events", s.uiFragment(s.events))
	mux.HandleFunc("GET /signin", s.signinPage)
	mux.Handle("POST /signin", s.ui.cop.Handler(http.HandlerFunc(s.signin)))
	mux.Handle("POST /signout", post(s.signout))
	mux.Handle("POST /environments/{env}/sync", post(s.uiWrite(s.uiEnv(s.uiSync))))
	mux.Handle("POST /environments/{env}/rollback", post(s.uiWrite(s.uiEnv(s.uiRollback))))
	mux.Handle("POST /environments/{env}/resume", post(s.uiWrite(s.uiEnv(s.uiResume))))
	mux.HandleFunc("GET /assets/{name}", s.ui.assets.serve)
}

// viewer is who sent a request: a signed-in session, a bearer token, or
// nobody.
type viewer struct {
	access  access
	session *session
}

func (v viewer) public() bool { return v.access < accessRead }

func (s *Server) viewerOf(r *http.Request) viewer {
	v := viewer{access: s.accessOf(r)}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if ss := s.ui.sessions.get(c.Value); ss != nil {
			v.session = ss
			v.access = max(v.access, ss.access)
		}
	}
	return v
}

func (s *Server) canRead(v viewer) bool { return s.publicRead || !v.public() }

// viewerView says what the pages show the viewer: sign-in state and
// whether the action buttons work, or why not.
func (s *Server) viewerView(r *http.Request, v viewer) viewerView {
	vv := viewerView{SignedIn: v.session != nil, CanSignIn: s.hasToken || s.hasReadToken, Path: r.URL.RequestURI()}
	switch v.access {
	case accessWrite:
		vv.Access = "write"
	case accessRead:
		vv.Access = "read-only"
	default:
		vv.Access = "public"
	}
	if v.session != nil {
		vv.CSRF = v.session.csrf
	}
	switch {
	case !s.hasToken:
		vv.WriteReason = "Actions are off: the server has no API token (set server.tokenFile to enable syncs, rollbacks and resumes)."
	case v.session == nil:
		vv.WriteReason = "Sign in with the API token to sync, roll back or resume."
	case v.session.access < accessWrite:
		vv.WriteReason = "Signed in with the read-only token: syncs, rollbacks and resumes want server.tokenFile's token."
	default:
		vv.CanWrite = true
	}
	return vv
}

func (s *Server) newPage(r *http.Request, v viewer, title, name, env string) *page {
	return &page{Title: title, Page: name, Env: env, Since: s.live.seqNow(), Assets: s.ui.assets.version, Viewer: s.viewerView(r, v)}
}

// message answers with a page that says one thing, and a way back.
func (s *Server) message(w http.ResponseWriter, r *http.Request, code int, title, text string) {
	v := s.viewerOf(r)
	p := s.newPage(r, v, title, "message", "")
	p.Body = struct{ Title, Text string }{title, text}
	s.render(w, code, "message", p)
}

// uiReader lets r read the pages as the API's reads allow; others are sent
// to sign in.
func (s *Server) uiReader(next uiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := s.viewerOf(r)
		switch {
		case s.canRead(v):
			next(w, r, v)
		case s.hasToken || s.hasReadToken:
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		default:
			s.message(w, r, http.StatusForbidden, "Reads are closed",
				"The dashboard's reads are closed: set server.readTokenFile or server.tokenFile, or server.publicRead: true.")
		}
	}
}

// uiFragment guards what scripts fetch: no redirect, a plain 401.
func (s *Server) uiFragment(next uiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := s.viewerOf(r)
		if !s.canRead(v) {
			http.Error(w, "sign in to read", http.StatusUnauthorized)
			return
		}
		next(w, r, v)
	}
}

// uiEnv answers 404 for an environment that is not configured.
func (s *Server) uiEnv(next uiEnvHandler) uiHandler {
	return func(w http.ResponseWriter, r *http.Request, v viewer) {
		env := r.PathValue("env")
		if !known(s.op, env) {
			s.message(w, r, http.StatusNotFound, "Unknown environment", "No environment is called "+quote(env)+".")
			return
		}
		next(w, r, v, env)
	}
}

// uiPost wants a signed-in session and its CSRF token on every POST.
func (s *Server) uiPost(next uiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			s.message(w, r, http.StatusBadRequest, "Bad request", "Reading the form: "+err.Error())
			return
		}
		v := s.viewerOf(r)
		if v.session == nil {
			s.message(w, r, http.StatusForbidden, "Not signed in", "Sign in with the API token first.")
			return
		}
		if !sameToken(submittedCSRF(r), v.session.csrf) {
			s.log.Warn("dashboard POST refused: missing or wrong CSRF token", "path", r.URL.Path, "remote", r.RemoteAddr)
			s.message(w, r, http.StatusForbidden, "Refused", "The request had no valid CSRF token: reload the page and try again.")
			return
		}
		next(w, r, v)
	}
}

// uiWrite wants the write token's session.
func (s *Server) uiWrite(next uiHandler) uiHandler {
	return func(w http.ResponseWriter, r *http.Request, v viewer) {
		if vv := s.viewerView(r, v); !vv.CanWrite {
			s.message(w, r, http.StatusForbidden, "Not allowed", vv.WriteReason)
			return
		}
		next(w, r, v)
	}
}

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request, v viewer) {
	p := s.newPage(r, v, "Environments", "overview", "")
	p.Body = s.overviewOf(r, v)
	s.render(w, http.StatusOK, "overview", p)
}

func (s *Server) environmentPage(w http.ResponseWriter, r *http.Request, v viewer, env string) {
	p := s.newPage(r, v, env, "environment", env)
	p.Body = s.envViewOf(r, env, v)
	s.render(w, http.StatusOK, "environment", p)
}

func (s *Server) rowFragment(w http.ResponseWriter, r *http.Request, v viewer, env string) {
	row, _ := s.rowOf(r.Context(), env, v)
	s.renderTemplate(w, http.StatusOK, "overview", "row", row)
}

func (s *Server) environmentFragment(w http.ResponseWriter, r *http.Request, v viewer, env string) {
	s.renderTemplate(w, http.StatusOK, "environment", "live", s.envViewOf(r, env, v))
}

// signinPage asks for a token. The form's CSRF token comes from a random
// cookie, so that no other site can sign a browser in with its own token.
func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	s.signinForm(w, r, http.StatusOK, "")
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request, code int, problem string) {
	if !s.hasToken && !s.hasReadToken {
		s.message(w, r, http.StatusNotFound, "No sign-in", "The server has no API token to sign in with (server.tokenFile, server.readTokenFile).")
		return
	}
	pre := ""
	if c, err := r.Cookie(preCookie); err == nil && c.Value != "" {
		pre = c.Value
	} else {
		pre = randomToken()
		http.SetCookie(w, cookie(r, preCookie, pre, time.Hour))
	}
	v := s.viewerOf(r)
	p := s.newPage(r, v, "Sign in", "signin", "")
	p.Body = struct{ CSRF, Next, Problem string }{s.ui.sessions.signinCSRF(pre), localPath(r.FormValue("next")), problem}
	s.render(w, code, "signin", p)
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		s.message(w, r, http.StatusBadRequest, "Bad request", "Reading the form: "+err.Error())
		return
	}
	c, err := r.Cookie(preCookie)
	if err != nil || !sameToken(r.PostFormValue(csrfField), s.ui.sessions.signinCSRF(c.Value)) {
		s.message(w, r, http.StatusForbidden, "Refused", "The sign-in form had no valid CSRF token: reload the sign-in page and try again.")
		return
	}
	given := []byte(strings.TrimSpace(r.PostFormValue("token")))
	var a access
	switch {
	case s.hasToken && subtle.ConstantTimeCompare(given, s.token.Bytes()) == 1:
		a = accessWrite
	case s.hasReadToken && subtle.ConstantTimeCompare(given, s.readToken.Bytes()) == 1:
		a = accessRead
	default:
		s.log.Warn("dashboard sign-in with a wrong token", "remote", r.RemoteAddr)
		s.signinForm(w, r, http.StatusUnauthorized, "That is not one of the server's API tokens.")
		return
	}
	id, _ := s.ui.sessions.create(a)
	http.SetCookie(w, cookie(r, sessionCookie, id, sessionTTL))
	http.SetCookie(w, cookie(r, preCookie, "", -1))
	s.log.Info("signed in to the dashboard", "access", s.viewerView(r, viewer{access: a}).Access, "remote", r.RemoteAddr)
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, _ viewer) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.ui.sessions.remove(c.Value)
	}
	http.SetCookie(w, cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// localPath is next when it is a path on this server, else "/": a sign-in
// must not send the browser to another site.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) uiSync(w http.ResponseWriter, r *http.Request, _ viewer, env string) {
	force := r.PostFormValue("force") == "1"
	if err := s.op.Trigger(env, sync.TriggerManual, force); err != nil {
		s.message(w, r, code(err, http.StatusServiceUnavailable), "Sync not queued", err.Error())
		return
	}
	s.log.Info("sync requested on the dashboard", "env", env, "force", force)
	queued := "sync"
	if force {
		queued = "force"
	}
	http.Redirect(w, r, "/environments/"+url.PathEscape(env)+"?queued="+queued, http.StatusSeeOther)
}

// uiRollback queues the rollback and answers at once: the page follows it
// live. Its failure is reported like any pass's.
func (s *Server) uiRollback(w http.ResponseWriter, r *http.Request, _ viewer, env string) {
	to := strings.TrimSpace(r.PostFormValue("to"))
	if !shaPrefix.MatchString(to) {
		s.message(w, r, http.StatusUnprocessableEntity, "Rollback not queued", quote(to)+" is not a commit SHA (4 to 64 hex digits).")
		return
	}
	s.log.Info("rollback requested on the dashboard", "env", env, "to", to)
	s.background(r, env, "rollback", func(ctx context.Context) error {
		_, err := s.op.Rollback(ctx, env, to)
		return err
	})
	http.Redirect(w, r, "/environments/"+url.PathEscape(env)+"?queued=rollback", http.StatusSeeOther)
}

func (s *Server) uiResume(w http.ResponseWriter, r *http.Request, _ viewer, env string) {
	s.log.Info("resume requested on the dashboard", "env", env)
	s.background(r, env, "resume", func(ctx context.Context) error { return s.op.Resume(ctx, env) })
	http.Redirect(w, r, "/environments/"+url.PathEscape(env)+"?queued=resume", http.StatusSeeOther)
}

// background runs an action that waits its turn in env's queue. It must
// not end with the request: a deploy is not stopped half-way because a
// browser moved on.
func (s *Server) background(r *http.Request, env, what string, f func(context.Context) error) {
	ctx := context.WithoutCancel(r.Context())
	go func() {
		if err := f(ctx); err != nil {
			s.log.Warn("dashboard "+what+" failed", "env", env, "err", err)
		}
	}()
}

// events streams the live events (server-sent events), of one environment
// with ?env=. A browser whose page is older than the last event that
// changed pages (?since=, or Last-Event-ID when it reconnects) is told to
// refresh first; then it gets the passes running now, then every event.
func (s *Server) events(w http.ResponseWriter, r *http.Request, v viewer) {
	env := r.URL.Query().Get("env")
	if env != "" && !known(s.op, env) {
		http.Error(w, "unknown environment", http.StatusNotFound)
		return
	}
	since := r.Header.Get("Last-Event-ID")
	if since == "" {
		since = r.URL.Query().Get("since")
	}
	sub, snapshot, seq := s.live.subscribe(env)
	defer s.live.unsubscribe(sub)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: don't buffer the stream
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	if n, err := strconv.ParseUint(since, 10, 64); err != nil || n != seq {
		s.writeEvent(w, v, liveEvent{Kind: "resync", Time: time.Now(), Seq: seq})
	}
	for _, ev := range snapshot {
		s.writeEvent(w, v, ev)
	}
	if rc.Flush() != nil {
		return
	}
	keepalive := time.NewTicker(keepaliveEvery)
	defer keepalive.Stop()
	for {
		select {
		case ev, ok := <-sub.ch:
			if !ok {
				return // fell behind: the browser reconnects and refreshes
			}
			s.writeEvent(w, v, ev)
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// writeEvent writes one event as v may see it: public readers get no
// error text.
func (s *Server) writeEvent(w http.ResponseWriter, v viewer, ev liveEvent) {
	if v.public() {
		ev.Error = hideError(ev.Error)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	if ev.Seq > 0 {
		fmt.Fprintf(w, "id: %d\n", ev.Seq)
	}
	fmt.Fprintf(w, "data: %s\n\n", b)
}
