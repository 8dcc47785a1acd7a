package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// -docs-screenshots copies the dashboard's screenshots into docs/ for the
// README; without it they stay in each test's artifact directory
// (go test -artifacts keeps them).
var docsScreenshots = flag.Bool("docs-screenshots", false, "write the dashboard's screenshots to docs/")

// chrome is the one headless Chromium the package's tests share (a start
// costs about 0.6s); each test gets its own browser context, so cookies
// never cross tests.
var chrome struct {
	once   gosync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

// closeBrowser closes the shared browser and waits until its profile
// directory is removed.
func closeBrowser() {
	if chrome.cancel == nil {
		return
	}
	if err := chromedp.Cancel(chrome.ctx); err != nil {
		fmt.Fprintf(os.Stderr, "closing the browser: %v\n", err)
	}
	chrome.cancel()
}

// tab is one test's browser tab on an operator's dashboard.
type tab struct {
	t   *testing.T
	o   *operator
	ctx context.Context
}

func newTab(t *testing.T, o *operator) *tab {
	t.Helper()
	chrome.once.Do(func() {
		if _, err := exec.LookPath("chromium"); err != nil {
			chrome.err = fmt.Errorf("the dashboard's tests drive Debian's chromium, which scripts/test-deps installs: %w", err)
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.WindowSize(1440, 1000))
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		chrome.ctx, chrome.cancel = bctx, func() { bcancel(); acancel() }
		chrome.err = chromedp.Do(bctx) // starts the browser
	})
	if chrome.err != nil {
		t.Fatal(chrome.err)
	}
	ctx, cancel := chromedp.NewContext(chrome.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run opens the tab; it must not be on a context with a
	// deadline, whose end would close the tab.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a browser tab: %v", err)
	}
	return &tab{t: t, o: o, ctx: ctx}
}

// run runs browser steps, failing the test (with a screenshot) on error.
func (b *tab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// waitFor waits until the JavaScript expression cond is true in the page:
// it is checked at every DOM change, so the wait lasts as long as the
// change takes, never a fixed time.
func (b *tab) waitFor(what, cond string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(timeout))); err != nil {
		b.fail(what, err)
	}
}

// eval evaluates a JavaScript expression (a promise is awaited).
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("evaluating "+js, err)
	}
	return v
}

// text is the text of the first element matching a CSS selector, or "".
func (b *tab) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}

func (b *tab) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	url, _ := chromedp.Run(ctx, chromedp.Location())
	b.screenshot("failure")
	b.t.Fatalf("%s: %v\npage %s:\n%s", what, err, url, body)
}

// screenshot saves the page as name.png in the test's artifact directory,
// and in docs/ as docsName when asked to.
func (b *tab) screenshot(name string, docsName ...string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	// The whole page, whatever its height: the viewport grows to it.
	height, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`Math.max(document.documentElement.scrollHeight, 600)`))
	if err == nil {
		err = chromedp.Do(ctx, chromedp.EmulateViewport(1440, height))
	}
	var png []byte
	if err == nil {
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	}
	_ = chromedp.Do(ctx, chromedp.EmulateReset())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	if *docsScreenshots && len(docsName) > 0 {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", docsName[0]), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// signIn signs in on the dashboard's form with the operator's API token.
func (b *tab) signIn(path string) {
	b.t.Helper()
	b.run("opening "+path, chromedp.Navigate(b.o.api+path), chromedp.WaitVisible(chromedp.ID("token")))
	if got := eval[string](b, `location.pathname`); got != "/signin" {
		b.t.Fatalf("reading %s without a session landed on %s, want the sign-in page", path, got)
	}
	b.screenshot("signin")
	b.run("signing in", chromedp.SendKeys(chromedp.ID("token"), b.o.token), chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("signout")))
	if got := eval[string](b, `location.pathname + location.search`); got != path {
		b.t.Fatalf("after signing in the browser is at %s, want back at %s", got, path)
	}
}

// deployedRecords waits until env has n records and returns the SHAs of
// the commits, oldest first.
func (o *operator) deployedRecords(env string, n int) []string {
	o.t.Helper()
	var shas []string
	swarmtest.Eventually(o.t, time.Minute, func() (bool, string, error) {
		var h struct {
			Records []struct{ Commit struct{ SHA string } }
		}
		if err := o.getJSON("/api/v1/environments/"+env+"/history", &h); err != nil {
			return false, err.Error(), nil // not listening yet
		}
		shas = shas[:0]
		for _, r := range h.Records {
			shas = append(shas, r.Commit.SHA)
		}
		return len(shas) == n, fmt.Sprintf("%s: %d records, want %d", env, len(shas), n), nil
	})
	return shas
}

func TestDashboardShowsPushesLive(t *testing.T) {
	t.Parallel()
	o := startOperator(t, map[string]envOpts{
		"staging": {schedule: "@every 1h", selfHeal: "warn", stackFile: serviceFile("blue", "")},
		"prod":    {schedule: "@every 1h", selfHeal: "warn", stackFile: serviceFile("blue", "")},
	})
	staging := o.deployedRecords("staging", 1)[0]
	prod := o.deployedRecords("prod", 1)[0]
	// Someone changes prod by hand: the overview shows the drift. The
	// engine bumps a new service's version once after creating it, so an
	// update may meet "update out of sequence": inspect again and retry.
	c := swarmtest.Client(t)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		svc, _, err := c.ServiceInspectWithRaw(t.Context(), o.stacks["prod"]+"_web", swarm.ServiceInspectOptions{})
		if err != nil {
			return false, "", err
		}
		svc.Spec.TaskTemplate.ContainerSpec.Env = append(svc.Spec.TaskTemplate.ContainerSpec.Env, "HOTFIX=1")
		_, err = c.ServiceUpdate(t.Context(), svc.ID, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{})
		return err == nil, fmt.Sprintf("updating prod by hand: %v", err), nil
	})
	b := newTab(t, o)
	b.signIn("/")
	for env, sha := range map[string]string{"staging": staging, "prod": prod} {
		cell := b.text("#env-" + env + " td.commit")
		if !strings.Contains(cell, sha[:7]) || !strings.Contains(cell, "first "+env) {
			t.Errorf("the overview's %s row shows %q, want commit %s “first %s”", env, cell, sha[:7], env)
		}
	}
	if drift := b.text("#env-prod td.drift"); !strings.Contains(drift, "1 object") {
		t.Errorf("prod's drift shows %q, want the object changed by hand", drift)
	}
	if h := b.text("#env-staging [data-health]"); h != "Healthy" {
		t.Errorf("staging's health is %q, want Healthy", h)
	}
	b.waitFor("the live stream connecting", `document.getElementById('live-state').classList.contains('on')`, 30*time.Second)

	// A push reaches the page through the event stream: no reload (the
	// marker set on this page survives).
	eval[bool](b, `window.__samePage = true`)
	sha := o.push("staging", serviceFile("green", ""), "staging: green")
	if code := o.hook("staging", o.secret); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	b.waitFor("the pushed commit appearing on the overview",
		fmt.Sprintf(`window.__samePage === true && document.querySelector('#env-staging td.commit').textContent.includes(%q)`, sha[:7]), 2*time.Minute)
	if cell := b.text("#env-staging td.commit"); !strings.Contains(cell, "staging: green") {
		t.Errorf("the new commit's row shows %q, want its subject", cell)
	}

	// The filter narrows the list without asking the server.
	b.run("filtering by name", chromedp.SendKeys(chromedp.ID("filter-q"), "prod"))
	b.waitFor("the filter hiding staging", `document.getElementById('env-staging').hidden && !document.getElementById('env-prod').hidden`, 10*time.Second)
	eval[bool](b, `(function(){ var q = document.getElementById('filter-q'); q.value = ''; q.dispatchEvent(new Event('input')); return true; })()`)
	b.waitFor("every environment shown again", `!document.getElementById('env-staging').hidden && document.getAnimations().length === 0`, 10*time.Second)
	b.screenshot("overview", "dashboard-overview.png")
}

func TestDashboardShowsABrokenCommitRolledBack(t *testing.T) {
	t.Parallel()
	o := startOperator(t, map[string]envOpts{"staging": {schedule: "@every 1h", selfHeal: "warn", stackFile: serviceFile("blue", "")}})
	good := o.deployedRecords("staging", 1)[0]
	b := newTab(t, o)
	b.signIn("/environments/staging")
	b.waitFor("the live stream connecting", `document.getElementById('live-state').classList.contains('on')`, 30*time.Second)

	broken := o.push("staging", serviceFile("red", `, CRASH: "1"`), "staging: red, crashing")
	if code := o.hook("staging", o.secret); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	// While the deploy fails, the page says Degraded with the task's
	// error; then the rollback, recorded with that error.
	b.waitFor("Degraded during the failing deploy", `[...document.querySelectorAll('#activity li')].some(li => li.textContent.includes('Degraded: ') && li.textContent.includes('failed'))`, 2*time.Minute)
	b.waitFor("the rolled-back deploy in the history",
		fmt.Sprintf(`(function(){ var li = document.querySelector('#history li'); return !!li && li.dataset.sha === %q && li.dataset.outcome === 'failed and rolled back'; })()`, broken), 2*time.Minute)
	recs := o.records("staging")
	want, _ := recs[len(recs)-1]["error"].(string)
	if want == "" || !strings.Contains(b.text("#history li pre.err"), want) {
		t.Errorf("the history shows error %q, want the record's %q", b.text("#history li pre.err"), want)
	}
	if log := b.text("#activity"); !strings.Contains(log, "failed and rolled back") || !strings.Contains(log, "pass started (webhook)") {
		t.Errorf("the activity log %q lacks the pass's start and its outcome", log)
	}
	if !strings.Contains(b.text("#quarantine-banner"), broken[:7]+" is quarantined") {
		t.Errorf("no quarantine banner for %s: %q", broken[:7], b.text("#quarantine-banner"))
	}
	if got := eval[string](b, `document.querySelector('#deployed .sha').title`); got != good {
		t.Errorf("the page says %s is deployed, want the good commit %s", got, good[:7])
	}
	o.waitEnv("staging", "COLOR", "blue", time.Minute)
	b.waitFor("the page settling", `document.getAnimations().length === 0`, 10*time.Second)
	b.screenshot("environment", "dashboard-environment.png")
}

func TestDashboardRollsBackWithSignIn(t *testing.T) {
	t.Parallel()
	o := startOperator(t, map[string]envOpts{"prod": {schedule: "@every 1h", selfHeal: "heal", stackFile: serviceFile("blue", "")}})
	o.deployedRecords("prod", 1)
	o.push("prod", serviceFile("green", ""), "prod: green")
	if code := o.hook("prod", o.secret); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	shas := o.deployedRecords("prod", 2)
	blue, green := shas[0], shas[1]
	b := newTab(t, o)
	b.signIn("/environments/prod")
	if got := eval[string](b, `document.querySelector('#deployed .sha').title`); got != green {
		t.Fatalf("the page says %s is deployed, want %s", got, green[:7])
	}

	// A POST without the session's CSRF token is refused, though the
	// browser sends the session cookie.
	status := eval[int](b, `fetch('/environments/prod/sync', {method: 'POST', credentials: 'same-origin',
		body: new URLSearchParams()}).then(r => r.status)`)
	if status != http.StatusForbidden {
		t.Errorf("a POST without the CSRF token got %d, want 403", status)
	}

	entry := fmt.Sprintf(`#history li[data-sha=%q]`, blue)
	if eval[bool](b, fmt.Sprintf(`!!document.querySelector('#history li[data-sha=%q] details.rollback')`, green)) {
		t.Error("the deployed commit offers a rollback to itself")
	}
	b.run("rolling back to the older commit",
		chromedp.Click(chromedp.CSS(entry+" details.rollback summary")),
		chromedp.Click(chromedp.CSS(entry+" details.rollback button")),
		chromedp.WaitVisible(chromedp.ID("notice")))
	b.waitFor("the rollback deployed and pinned", fmt.Sprintf(`!!document.getElementById('pin-banner') &&
		document.querySelector('#deployed .sha').title === %q`, blue), 2*time.Minute)
	b.screenshot("pinned")
	if got := b.text("#pin-banner"); !strings.Contains(got, "Pinned at "+blue[:7]) {
		t.Errorf("the pin banner says %q", got)
	}
	if got := b.text("#history li .sub"); !strings.Contains(got, "rollback") {
		t.Errorf("the newest record is %q, want the rollback", got)
	}
	o.waitEnv("prod", "COLOR", "blue", time.Minute)
	var st struct{ Pin *struct{ SHA string } }
	if err := o.getJSON("/api/v1/environments/prod", &st); err != nil || st.Pin == nil || st.Pin.SHA != blue {
		t.Errorf("the API's pin: %+v (%v), want %s", st.Pin, err, blue[:7])
	}

	// Signing out ends the session: the page asks to sign in again.
	b.run("signing out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("token")))
	if status := eval[int](b, `fetch('/fragments/row/prod', {credentials: 'same-origin'}).then(r => r.status)`); status != http.StatusUnauthorized {
		t.Errorf("after signing out a read got %d, want 401", status)
	}
}
