package server

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

var reads = []string{"/api/v1/environments", "/api/v1/environments/staging", "/api/v1/environments/staging/history"}

// TestAPIReadsWantAToken: reads need the write or the read token; the read
// token writes nothing.
func TestAPIReadsWantAToken(t *testing.T) {
	h := startWith(t, withStaging(newFakeOperator()), func(cfg *environments.Server) {
		cfg.ReadTokenFile = writeSecret(t, "read-token", testReadToken)
	})
	for _, path := range reads {
		for name, token := range map[string]string{"no token": "", "wrong token": testReadToken + "x", "a prefix": testReadToken[:20]} {
			code, body := h.getAs(t, path, token)
			if code != http.StatusUnauthorized || strings.Contains(body, "staging") {
				t.Errorf("%s %s: %d, want 401 and nothing about the environment: %s", name, path, code, body)
			}
		}
		for name, token := range map[string]string{"read token": testReadToken, "write token": testToken} {
			if code, body := h.getAs(t, path, token); code != http.StatusOK || !strings.Contains(body, "staging") {
				t.Errorf("%s %s: %d, want 200: %s", name, path, code, body)
			}
		}
	}
	readOnly := http.Header{"Authorization": {"Bearer " + testReadToken}}
	for _, op := range []string{"sync", "rollback", "resume"} {
		if code, body := h.post(t, "/api/v1/environments/staging/"+op, nil, readOnly); code != http.StatusForbidden {
			t.Errorf("%s with the read token: %d, want 403: %s", op, code, body)
		}
	}
	if got := h.op.triggered(); len(got) != 0 || len(h.op.resumed) != 0 {
		t.Errorf("the read token acted: %v %v", got, h.op.resumed)
	}
}

func TestAPIReadsClosedWithoutTokens(t *testing.T) {
	h := startWith(t, withStaging(newFakeOperator()), func(cfg *environments.Server) { cfg.TokenFile = "" })
	for _, path := range reads {
		if code, body := h.getAs(t, path, testToken); code != http.StatusForbidden || !strings.Contains(body, "server.publicRead") {
			t.Errorf("%s: %d, want 403 saying how to open reads: %s", path, code, body)
		}
	}
}

// TestAPIPublicRead: with publicRead, anyone reads, but errors (which name
// files and hosts), commit messages and e-mails are for token holders.
func TestAPIPublicRead(t *testing.T) {
	op := withStaging(newFakeOperator())
	const pathy = "reading /srv/flotilla/cache/shop.git: permission denied"
	op.status["staging"].Errors = []string{pathy}
	op.status["staging"].LastError = pathy
	h := startWith(t, op, func(cfg *environments.Server) { cfg.PublicRead = true })

	private := []string{pathy, "api did not converge", deployedRev.AuthorEmail, tipRev.AuthorEmail, "cluster unreachable"}
	for _, path := range append(reads, "/api/v1/environments/prod") {
		code, body := h.get(t, path)
		if code != http.StatusOK && path != "/api/v1/environments/prod" {
			t.Errorf("public %s: %d, want 200: %s", path, code, body)
		}
		for _, p := range private {
			if strings.Contains(body, p) {
				t.Errorf("public %s shows %q:\n%s", path, p, body)
			}
		}
	}
	if _, body := h.get(t, "/api/v1/environments/staging"); !strings.Contains(body, hiddenError) || !strings.Contains(body, deployedRev.SHA) {
		t.Errorf("public status should say an error was hidden and still show the commit:\n%s", body)
	}
	// A token holder sees it all.
	if _, body := h.read(t, "/api/v1/environments/staging"); !strings.Contains(body, pathy) || !strings.Contains(body, deployedRev.AuthorEmail) {
		t.Errorf("with the token, the status lacks the error or the e-mail:\n%s", body)
	}
	if code, body := h.read(t, "/api/v1/environments/prod"); code != http.StatusInternalServerError || !strings.Contains(body, "cluster unreachable") {
		t.Errorf("failing status with the token: %d %s", code, body)
	}
	// publicRead opens reads, never writes.
	if code, _ := h.post(t, "/api/v1/environments/staging/sync", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("public sync: %d, want 401", code)
	}
}

// TestAPIMasksSensitiveDrift: a password changed by hand shows as drift on
// its variable, and neither value ever leaves the API, whoever asks.
func TestAPIMasksSensitiveDrift(t *testing.T) {
	const fromGit, byHand = "pw-from-git-8c1f", "changed-by-hand-5e2a"
	op := withStaging(newFakeOperator())
	op.status["staging"].Drift = []diff.Change{{Kind: diff.KindService, Name: "shop-staging_db", Action: diff.ActionUpdate,
		Effect: diff.EffectRolling, Fields: []diff.Field{
			{Path: "TaskTemplate.ContainerSpec.Env[POSTGRES_PASSWORD]", Old: byHand, New: fromGit},
			{Path: "TaskTemplate.ContainerSpec.Env[POSTGRES_USER]", Old: "root", New: "shop"},
		}}}
	op.rollback = func(env, to string) (*sync.Report, error) {
		return &sync.Report{Environment: env, Stack: "shop-" + env, Commit: deployedRev, Plan: diff.Plan{Stack: "shop-" + env,
			Changes: op.status["staging"].Drift}}, errors.New("api did not converge")
	}
	h := startWith(t, op, func(cfg *environments.Server) { cfg.PublicRead = true })
	bearer := http.Header{"Authorization": {"Bearer " + testToken}}
	answers := map[string]string{}
	_, answers["public status"] = h.get(t, "/api/v1/environments/staging")
	_, answers["status"] = h.read(t, "/api/v1/environments/staging")
	_, answers["list"] = h.read(t, "/api/v1/environments")
	_, answers["rollback"] = h.post(t, "/api/v1/environments/staging/rollback", nil, bearer)
	for name, body := range answers {
		for _, secret := range []string{fromGit, byHand} {
			if strings.Contains(body, secret) {
				t.Errorf("%s shows %q:\n%s", name, secret, body)
			}
		}
	}
	for _, name := range []string{"public status", "status", "rollback"} {
		body := answers[name]
		if !strings.Contains(body, "Env[POSTGRES_PASSWORD]") || !strings.Contains(body, diff.SensitiveChanged) || !strings.Contains(body, `"shop"`) {
			t.Errorf("%s should name the changed variable, mask its value and keep the harmless one:\n%s", name, body)
		}
	}
	// The operator's own status is not changed by what was shown.
	if f := op.status["staging"].Drift[0].Fields[0]; f.Old != byHand || f.Sensitive {
		t.Errorf("the operator's status was masked in place: %+v", f)
	}
}
