package server

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

// browser is an HTTP client that keeps cookies and shows redirects, as the
// dashboard's tests need them.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form, with extra headers as a browser would add them.
func (b *browser) post(path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the first CSRF token a page carries.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// signIn signs b in with token and returns the environment page's CSRF
// token.
func (b *browser) signIn(token string) string {
	b.t.Helper()
	_, page := b.get("/signin")
	resp, body := b.post("/signin", url.Values{"csrf": {csrf(b.t, page)}, "token": {token}, "next": {"/environments/staging"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/environments/staging" {
		b.t.Fatalf("sign-in: %d to %q, want 303 to the page asked for:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, page = b.get("/environments/staging")
	return csrf(b.t, page)
}

// withDashboard adds what the pages show beyond withStaging: health,
// services, a sensitive drift field, and a GitHub repository.
func withDashboard(op *fakeOperator) *fakeOperator {
	withStaging(op)
	op.cfg.Repos["shop"].URL = "https://github.com/acme/shop.git"
	st := op.status["staging"]
	st.Health = &apply.StackHealth{State: apply.Degraded, Reason: "shop-staging_api: task exited with code 3",
		Services: []apply.ServiceHealth{{Name: "shop-staging_api", Image: "acme/api:v3", State: apply.Degraded, Running: 1,
			Desired: 3, UpdateState: "rollback_completed", Reason: "shop-staging_api: task exited with code 3"}}}
	st.Drift = append(st.Drift, diff.Change{Kind: diff.KindService, Name: "shop-staging_web", Action: diff.ActionUpdate,
		Fields: []diff.Field{{Path: "TaskTemplate.ContainerSpec.Env[DB_PASSWORD]", Old: "hunter2-old", New: "hunter2-new"}}})
	st.LastError = "fetching https://github.com/acme/shop.git: connection refused"
	older := deployedRecord
	older.Seq, older.Commit.SHA, older.Commit.Subject = 3, "1111111aaaaaaa2222222bbbbbbb3333333ccccc", "api: v1"
	op.history["staging"] = append([]sync.Record{older}, op.history["staging"]...)
	return op
}

func TestDashboardOff(t *testing.T) {
	off := false
	h := startWith(t, withDashboard(newFakeOperator()), func(cfg *environments.Server) { cfg.UI = &off })
	for _, path := range []string{"/", "/environments/staging", "/events", "/signin", "/assets/app.js"} {
		if code, _ := h.read(t, path); code != http.StatusNotFound {
			t.Errorf("GET %s with server.ui: false: %d, want 404", path, code)
		}
	}
	if code, _ := h.read(t, "/api/v1/environments"); code != http.StatusOK {
		t.Errorf("the API is off with the dashboard: %d", code)
	}
}

func TestDashboardOverview(t *testing.T) {
	h := start(t, withDashboard(newFakeOperator()), true)
	code, page := h.read(t, "/")
	if code != http.StatusOK {
		t.Fatalf("overview: %d\n%s", code, page)
	}
	for _, want := range []string{
		`id="env-staging"`, `id="env-prod"`, `id="env-review"`, // every environment
		`href="https://github.com/acme/shop/commit/` + deployedRev.SHA + `"`, ">4f2d9c1<", "api: v2", "Ada", // the deployed commit
		"tip 9a8b7c6 quarantined", "2 objects", "failed and rolled back", "Degraded", // staging's state
		"cluster unreachable", // prod's status failed
		">pinned<",            // review is pinned
		`data-tags="attention degraded failed drifted quarantined"`,
		`/assets/app.js?v=` + loadAssets().version,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	// Filtered on the server too, so that a filtered link works without
	// scripts.
	_, page = h.read(t, "/?status=pinned")
	if !regexp.MustCompile(`<tr id="env-staging"[^>]* hidden>`).MatchString(page) ||
		regexp.MustCompile(`<tr id="env-review"[^>]* hidden>`).MatchString(page) {
		t.Errorf("?status=pinned does not show review alone:\n%s", page)
	}
	_, page = h.read(t, "/?q=stag")
	if regexp.MustCompile(`<tr id="env-staging"[^>]* hidden>`).MatchString(page) ||
		!regexp.MustCompile(`<tr id="env-prod"[^>]* hidden>`).MatchString(page) {
		t.Errorf("?q=stag does not show staging alone")
	}
}

func TestDashboardEnvironmentPage(t *testing.T) {
	h := start(t, withDashboard(newFakeOperator()), true)
	code, page := h.read(t, "/environments/staging")
	if code != http.StatusOK {
		t.Fatalf("environment page: %d\n%s", code, page)
	}
	for _, want := range []string{
		"acme/api:v3", "1/3", "rollback_completed", "task exited with code 3", // services
		"Mode.Replicated.Replicas", ">3<", ">5<", // drift, field by field
		"TaskTemplate.ContainerSpec.Env[DB_PASSWORD]", "(sensitive value changed)",
		"api did not converge", "webhook", // the failed record
		"Roll back staging to 1111111",             // an older good commit
		"Force a sync of 9a8b7c6",                  // the quarantined tip
		"Sign in with the API token to sync",       // not signed in
		"connection refused",                       // the last automatic pass's error, for token holders
		"https://github.com/acme/shop/commit/9a8b", // the history links to GitHub
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the environment page lacks %q", want)
		}
	}
	if strings.Contains(page, "hunter2") {
		t.Error("a sensitive value is on the page")
	}
	if strings.Contains(page, "Roll back staging to 4f2d9c1") || strings.Contains(page, "Roll back staging to 9a8b7c6") {
		t.Error("a rollback is offered to the deployed commit or a failed one")
	}
	if !regexp.MustCompile(`<button type="submit" class="primary" disabled title="Sign in with the API token[^"]*" id="sync-now">`).MatchString(page) {
		t.Error("the sync button is not disabled with its reason")
	}
	if code, _ := h.read(t, "/environments/nope"); code != http.StatusNotFound {
		t.Errorf("an unknown environment's page: %d, want 404", code)
	}
	code, frag := h.read(t, "/fragments/environment/staging")
	if code != http.StatusOK || strings.Contains(frag, "<html") || !strings.Contains(frag, "acme/api:v3") {
		t.Errorf("the live fragment: %d, want the page's live part alone:\n%.300s", code, frag)
	}
}

func TestDashboardReadsFollowTheAPI(t *testing.T) {
	t.Run("tokens configured", func(t *testing.T) {
		h := startWith(t, withDashboard(newFakeOperator()), func(cfg *environments.Server) {
			cfg.ReadTokenFile = writeSecret(t, "read-token", testReadToken)
		})
		b := newBrowser(t, h.url)
		resp, _ := b.get("/environments/staging")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next=%2Fenvironments%2Fstaging" {
			t.Errorf("a page without a token: %d to %q, want 303 to sign in", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, path := range []string{"/fragments/row/staging", "/events"} {
			if resp, body := b.get(path); resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "staging") {
				t.Errorf("%s without a token: %d, want 401", path, resp.StatusCode)
			}
		}
		if code, page := h.getAs(t, "/environments/staging", testReadToken); code != http.StatusOK || !strings.Contains(page, "connection refused") {
			t.Errorf("the read token's bearer: %d, want the page with its errors", code)
		}
	})
	t.Run("no tokens", func(t *testing.T) {
		h := startWith(t, withDashboard(newFakeOperator()), func(cfg *environments.Server) { cfg.TokenFile = "" })
		if code, page := h.get(t, "/"); code != http.StatusForbidden || !strings.Contains(page, "server.publicRead") {
			t.Errorf("without tokens or publicRead: %d, want 403 saying how to open reads:\n%s", code, page)
		}
	})
	t.Run("public", func(t *testing.T) {
		h := startWith(t, withDashboard(newFakeOperator()), func(cfg *environments.Server) { cfg.TokenFile, cfg.PublicRead = "", true })
		code, page := h.get(t, "/environments/staging")
		if code != http.StatusOK {
			t.Fatalf("a public page: %d", code)
		}
		for _, hidden := range []string{"connection refused", "api did not converge", "ada@example.com"} {
			if strings.Contains(page, hidden) {
				t.Errorf("a public reader sees %q", hidden)
			}
		}
		if !strings.Contains(page, "Actions are off: the server has no API token") {
			t.Error("the buttons do not say why they are off")
		}
		if !strings.Contains(page, hiddenError) {
			t.Error("a public reader is not told that details need a token")
		}
	})
}

func TestDashboardSignInActionsAndCSRF(t *testing.T) {
	h := startWith(t, withDashboard(newFakeOperator()), func(cfg *environments.Server) {
		cfg.ReadTokenFile = writeSecret(t, "read-token", testReadToken)
	})
	b := newBrowser(t, h.url)

	// Sign-in itself wants the form's CSRF token, and a real token.
	_, page := b.get("/signin")
	if resp, _ := b.post("/signin", url.Values{"token": {testToken}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without its CSRF token: %d, want 403", resp.StatusCode)
	}
	if resp, body := b.post("/signin", url.Values{"csrf": {csrf(t, page)}, "token": {testToken + "x"}}); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(body, "not one of the server") {
		t.Errorf("a wrong token: %d, want 401 saying so", resp.StatusCode)
	}
	_, page = b.get("/signin")
	resp, _ := b.post("/signin", url.Values{"csrf": {csrf(t, page)}, "token": {testToken}, "next": {"https://evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign-in: %d to %q, want 303 to / (never to another site)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure || session.Value == "" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", session)
	}
	if strings.Contains(session.Value, testToken) {
		t.Fatal("the session cookie holds the token")
	}

	_, page = b.get("/environments/staging")
	token := csrf(t, page)
	if strings.Contains(page, "disabled") {
		t.Error("signed in with the write token, a button is still disabled")
	}
	// A POST without the CSRF token, or with another, is refused and does
	// nothing.
	if resp, body := b.post("/environments/staging/sync", url.Values{}); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
		t.Errorf("sync without the CSRF token: %d, want 403:\n%s", resp.StatusCode, body)
	}
	if resp, _ := b.post("/environments/staging/sync", url.Values{"csrf": {token + "x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sync with a wrong CSRF token: %d, want 403", resp.StatusCode)
	}
	// Another site's form is refused even with the token.
	if resp, _ := b.post("/environments/staging/sync", url.Values{"csrf": {token}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site POST: %d, want 403", resp.StatusCode)
	}
	if got := h.op.triggered(); len(got) != 0 {
		t.Fatalf("refused POSTs triggered %v", got)
	}
	resp, _ = b.post("/environments/staging/sync", url.Values{"csrf": {token}, "force": {"1"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/environments/staging?queued=force" {
		t.Errorf("a forced sync: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := h.op.triggered(); len(got) != 1 || got[0] != (call{"staging", sync.TriggerManual, true}) {
		t.Errorf("triggers %v, want one forced manual sync of staging", got)
	}
	if _, page := b.get("/environments/staging?queued=force"); !strings.Contains(page, "Forced sync of staging queued") {
		t.Error("the page does not say the sync was queued")
	}
	if resp, _ := b.post("/environments/staging/rollback", url.Values{"csrf": {token}, "to": {"not a sha"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a rollback to a non-SHA: %d, want 422", resp.StatusCode)
	}

	// Signing out ends the session: its cookie and CSRF token are dead.
	if resp, _ := b.post("/signout", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out: %d", resp.StatusCode)
	}
	replay := newBrowser(t, h.url)
	u, _ := url.Parse(h.url)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: session.Value}})
	if resp, _ := replay.post("/environments/staging/sync", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a POST with a signed-out session: %d, want 403", resp.StatusCode)
	}
	if got := h.op.triggered(); len(got) != 1 {
		t.Errorf("triggers after sign-out: %v", got)
	}

	// The read token signs in to read: the buttons stay off, and a POST
	// with its session's CSRF token is refused.
	reader := newBrowser(t, h.url)
	token = reader.signIn(testReadToken)
	_, page = reader.get("/environments/staging")
	if !strings.Contains(page, "Signed in with the read-only token") {
		t.Error("a read-only session is not told why the buttons are off")
	}
	if resp, _ := reader.post("/environments/staging/resume", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("resume with a read-only session: %d, want 403", resp.StatusCode)
	}
	if len(h.op.resumed) != 0 {
		t.Errorf("a read-only session resumed %v", h.op.resumed)
	}
}

func TestDashboardHeaders(t *testing.T) {
	h := start(t, withDashboard(newFakeOperator()), true)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url+"/", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("a page may be cached: %q", resp.Header.Get("Cache-Control"))
	}
	v := loadAssets().version
	resp, err = http.Get(h.url + "/assets/style.css?v=" + v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("the stylesheet: %d %q %q", resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"))
	}
}
