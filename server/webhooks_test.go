package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// pushBody is a push event of kind as its forge shapes it, trimmed to
// the fields around the ones read.
func pushBody(kind environments.WebhookKind, repo, branch string) []byte {
	var v any
	switch kind {
	case environments.GitHub:
		v = map[string]any{"ref": "refs/heads/" + branch, "before": "0000", "after": "abcd",
			"repository": map[string]any{"full_name": "Acme/Shop", "html_url": "https://github.com/" + repo,
				"clone_url": "https://github.com/" + repo + ".git", "ssh_url": "git@github.com:" + repo + ".git",
				"git_url": "git://github.com/" + repo + ".git", "url": "https://github.com/" + repo}}
	case environments.GitLab:
		v = map[string]any{"object_kind": "push", "ref": "refs/heads/" + branch,
			"project": map[string]any{"web_url": "https://gitlab.com/" + repo,
				"git_ssh_url": "git@gitlab.com:" + repo + ".git", "git_http_url": "https://gitlab.com/" + repo + ".git"},
			"repository": map[string]any{"url": "git@gitlab.com:" + repo + ".git", "homepage": "https://gitlab.com/" + repo}}
	case environments.Gitea:
		v = map[string]any{"ref": "refs/heads/" + branch,
			"repository": map[string]any{"html_url": "https://gitea.example.com/" + repo,
				"clone_url": "https://gitea.example.com/" + repo + ".git", "ssh_url": "git@gitea.example.com:" + repo + ".git"}}
	case environments.Generic:
		v = map[string]any{"repository": "https://github.com/" + repo, "branch": branch}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// signed sets the headers kind's forge sends with a push signed with secret.
func signed(kind environments.WebhookKind, secret string, body []byte) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	switch kind {
	case environments.GitHub:
		h.Set("X-GitHub-Event", "push")
		h.Set("X-Hub-Signature-256", "sha256="+sign(secret, body))
	case environments.GitLab:
		h.Set("X-Gitlab-Event", "Push Hook")
		h.Set("X-Gitlab-Token", secret)
	case environments.Gitea:
		h.Set("X-Gitea-Event", "push")
		h.Set("X-Gitea-Signature", sign(secret, body))
	case environments.Generic:
		h.Set("X-Flotilla-Signature", "sha256="+sign(secret, body))
	}
	return h
}

var hookSecrets = map[environments.WebhookKind]string{environments.GitHub: testGitHub,
	environments.GitLab: testGitLab, environments.Gitea: testGitea, environments.Generic: testGeneric}

// repoFor is the repository path under each forge's host that matches
// the fake's configured git@github.com:acme/shop.git (GitLab's and
// Gitea's hosts differ, so the fake points the repo there per test).
func configureRepo(op *fakeOperator, kind environments.WebhookKind) {
	switch kind {
	case environments.GitLab:
		op.cfg.Repos["shop"].URL = "https://gitlab.com/acme/shop.git"
	case environments.Gitea:
		op.cfg.Repos["shop"].URL = "ssh://git@gitea.example.com/acme/shop.git"
	}
}

func TestWebhookPushTriggersFollowingEnvironments(t *testing.T) {
	for _, kind := range allHooks {
		t.Run(string(kind), func(t *testing.T) {
			op := newFakeOperator()
			configureRepo(op, kind)
			h := start(t, op, true, allHooks...)
			body := pushBody(kind, "Acme/Shop", "main")
			code, answer := h.post(t, "/hooks/"+string(kind), body, signed(kind, hookSecrets[kind], body))
			if code != http.StatusAccepted {
				t.Fatalf("status %d: %s", code, answer)
			}
			want := []call{{"review", sync.TriggerWebhook, false}, {"staging", sync.TriggerWebhook, false}}
			got := op.triggered()
			slices.SortFunc(got, func(a, b call) int { return strings.Compare(a.Env, b.Env) })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("triggers (-want +got):\n%s", diff)
			}
			var a HookAnswer
			if err := json.Unmarshal([]byte(answer), &a); err != nil || !slices.Equal(a.Triggered, []string{"review", "staging"}) {
				t.Errorf("answer %s (%v): want triggered review, staging", answer, err)
			}
			if n := value(t, h.metrics.webhooks.WithLabelValues(string(kind), hookAccepted)); n != 1 {
				t.Errorf("accepted count %v, want 1", n)
			}
		})
	}
}

// A reloaded configuration is followed from the next push on: the index of
// what environments follow is made again for it.
func TestWebhookFollowsAReloadedConfiguration(t *testing.T) {
	op := newFakeOperator()
	h := start(t, op, true, environments.Generic)
	push := func() []string {
		t.Helper()
		body := pushBody(environments.Generic, "acme/shop", "prod")
		code, answer := h.post(t, "/hooks/generic", body, signed(environments.Generic, testGeneric, body))
		var a HookAnswer
		if err := json.Unmarshal([]byte(answer), &a); err != nil || code != http.StatusAccepted {
			t.Fatalf("status %d: %s (%v)", code, answer, err)
		}
		return a.Triggered
	}
	if got := push(); !slices.Equal(got, []string{"prod"}) {
		t.Fatalf("a push to prod triggered %v, want [prod]", got)
	}
	next := *op.Config()
	next.Environments = map[string]*environments.EnvironmentSpec{
		"prod":  op.Config().Environments["prod"],
		"audit": {Name: "audit", Repo: "shop", Branch: "prod", Stack: "shop-audit"},
	}
	op.reload(&next)
	if got := push(); !slices.Equal(got, []string{"audit", "prod"}) {
		t.Errorf("after the reload, a push to prod triggered %v, want [audit prod]", got)
	}
}

func TestWebhookRefusesBadSignatures(t *testing.T) {
	for _, kind := range allHooks {
		t.Run(string(kind), func(t *testing.T) {
			op := newFakeOperator()
			configureRepo(op, kind)
			h := start(t, op, true, allHooks...)
			body := pushBody(kind, "acme/shop", "main")
			for name, header := range map[string]http.Header{
				"wrong secret":  signed(kind, "not-the-secret", body),
				"missing":       {"X-GitHub-Event": {"push"}, "X-Gitlab-Event": {"Push Hook"}, "X-Gitea-Event": {"push"}},
				"other body":    signed(kind, hookSecrets[kind], append(bytes.Clone(body), ' ')),
				"not hex":       {"X-Hub-Signature-256": {"sha256=zz"}, "X-Gitea-Signature": {"zz"}, "X-Flotilla-Signature": {"sha256=zz"}},
				"other secret2": signed(kind, hookSecrets[environments.GitHub]+hookSecrets[environments.Gitea], body),
			} {
				if name == "other body" && kind == environments.GitLab {
					continue // GitLab sends the token itself, which signs no body
				}
				code, answer := h.post(t, "/hooks/"+string(kind), body, header)
				if code != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401: %s", name, code, answer)
				}
			}
			if got := op.triggered(); len(got) != 0 {
				t.Errorf("triggered %v on bad signatures", got)
			}
		})
	}
}

func TestWebhookWrongProviderPath(t *testing.T) {
	op := newFakeOperator()
	h := start(t, op, true, allHooks...)
	body := pushBody(environments.GitHub, "acme/shop", "main")
	header := signed(environments.GitHub, testGitHub, body)
	for _, path := range []string{"/hooks/gitea", "/hooks/gitlab", "/hooks/generic"} {
		if code, answer := h.post(t, path, body, header); code != http.StatusUnauthorized {
			t.Errorf("GitHub-signed push to %s: status %d, want 401: %s", path, code, answer)
		}
	}
	if got := op.triggered(); len(got) != 0 {
		t.Errorf("triggered %v", got)
	}
}

func TestWebhookNoEnvironmentFollows(t *testing.T) {
	op := newFakeOperator()
	h := start(t, op, true, allHooks...)
	for name, body := range map[string][]byte{
		"unknown repo":   pushBody(environments.GitHub, "acme/shop-api", "main"),
		"unknown branch": pushBody(environments.GitHub, "acme/shop", "feature/x"),
		"deleted branch": bytes.Replace(pushBody(environments.GitHub, "acme/shop", "main"), []byte(`"after":"abcd"`), []byte(`"after":"`+zeroSHA+`","deleted":true`), 1),
		"a tag":          bytes.Replace(pushBody(environments.GitHub, "acme/shop", "main"), []byte("refs/heads/main"), []byte("refs/tags/main"), 1),
	} {
		code, answer := h.post(t, "/hooks/github", body, signed(environments.GitHub, testGitHub, body))
		if code != http.StatusAccepted || !strings.Contains(answer, "nothing to") {
			t.Errorf("%s: status %d, want 202 and nothing to do: %s", name, code, answer)
		}
	}
	if got := op.triggered(); len(got) != 0 {
		t.Errorf("triggered %v", got)
	}
}

func TestWebhookOversizedBody(t *testing.T) {
	op := newFakeOperator()
	h := start(t, op, true, allHooks...)
	// A valid push padded past 1 MiB, correctly signed: size alone refuses it.
	body := pushBody(environments.Generic, "acme/shop", "main")
	body = append(body[:len(body)-1], []byte(`,"pad":"`+strings.Repeat("x", maxHookBody)+`"}`)...)
	code, answer := h.post(t, "/hooks/generic", body, signed(environments.Generic, testGeneric, body))
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413: %.200s", code, answer)
	}
	if got := op.triggered(); len(got) != 0 {
		t.Errorf("triggered %v", got)
	}
	if n := value(t, h.metrics.webhooks.WithLabelValues("generic", hookTooLarge)); n != 1 {
		t.Errorf("too_large count %v, want 1", n)
	}
}

func TestWebhookEvents(t *testing.T) {
	op := newFakeOperator()
	h := start(t, op, true, environments.GitHub, environments.GitLab)
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	header := signed(environments.GitHub, testGitHub, ping)
	header.Set("X-GitHub-Event", "ping")
	if code, answer := h.post(t, "/hooks/github", ping, header); code != http.StatusOK || !strings.Contains(answer, "pong") {
		t.Errorf("ping: status %d, want 200 pong: %s", code, answer)
	}
	header.Set("X-Hub-Signature-256", "sha256="+sign("wrong", ping))
	if code, _ := h.post(t, "/hooks/github", ping, header); code != http.StatusUnauthorized {
		t.Errorf("unsigned ping: status %d, want 401", code)
	}
	issue := pushBody(environments.GitHub, "acme/shop", "main")
	header = signed(environments.GitHub, testGitHub, issue)
	header.Set("X-GitHub-Event", "issues")
	if code, answer := h.post(t, "/hooks/github", issue, header); code != http.StatusAccepted || !strings.Contains(answer, "ignored") {
		t.Errorf("issues event: status %d, want 202 ignored: %s", code, answer)
	}
	// Gitea is not configured here.
	body := pushBody(environments.Gitea, "acme/shop", "main")
	if code, _ := h.post(t, "/hooks/gitea", body, signed(environments.Gitea, testGitea, body)); code != http.StatusNotFound {
		t.Errorf("unconfigured provider: status %d, want 404", code)
	}
	form := []byte("payload=" + url.QueryEscape(string(pushBody(environments.GitHub, "acme/shop", "prod"))))
	header = signed(environments.GitHub, testGitHub, form)
	header.Set("Content-Type", "application/x-www-form-urlencoded")
	if code, answer := h.post(t, "/hooks/github", form, header); code != http.StatusAccepted || !strings.Contains(answer, `"prod"`) {
		t.Errorf("form-encoded push: status %d, want 202 triggering prod: %s", code, answer)
	}
	bad := []byte(`{"ref": 12}`)
	if code, _ := h.post(t, "/hooks/gitlab", bad, signed(environments.GitLab, testGitLab, bad)); code != http.StatusBadRequest {
		t.Errorf("malformed push: status %d, want 400", code)
	}
	if d := cmp.Diff([]call{{"prod", sync.TriggerWebhook, false}}, op.triggered()); d != "" {
		t.Errorf("triggers (-want +got):\n%s", d)
	}
}

func TestParsePushToleratesOddFields(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main","repository":{"url":42,"homepage":null,"clone_url":"https://github.com/acme/shop.git","owner":{"id":1}}}`)
	p, err := parsePush(environments.GitHub, "application/json", body)
	if err != nil || p.Ref != "refs/heads/main" || !slices.Equal(p.URLs, []string{"https://github.com/acme/shop.git"}) {
		t.Errorf("parsePush: %+v, %v", p, err)
	}
	if _, err := parsePush(environments.Generic, "", []byte(`{"branch":"main"}`)); err == nil {
		t.Errorf("a generic push without a repository was accepted")
	}
}

// `curl -d '{…}'` sends JSON labelled as a form: the generic hook reads it
// as the JSON it is.
func TestGenericWebhookReadsJSONSentAsAForm(t *testing.T) {
	op := newFakeOperator()
	h := start(t, op, true, environments.Generic)
	body := pushBody(environments.Generic, "Acme/Shop", "main")
	header := signed(environments.Generic, testGeneric, body)
	header.Set("Content-Type", "application/x-www-form-urlencoded") // curl -d's default
	code, answer := h.post(t, "/hooks/generic", body, header)
	if code != http.StatusAccepted || !strings.Contains(answer, `"staging"`) {
		t.Fatalf("JSON sent as a form: status %d, want 202 triggering staging: %s", code, answer)
	}

	// A body that is neither says what the hook wants.
	form := []byte("repository=https://github.com/Acme/Shop&branch=main")
	header = signed(environments.Generic, testGeneric, form)
	header.Set("Content-Type", "application/x-www-form-urlencoded")
	code, answer = h.post(t, "/hooks/generic", form, header)
	if code != http.StatusBadRequest || !strings.Contains(answer, `want a JSON object such as {\"repository\": URL, \"branch\": NAME}`) {
		t.Errorf("form fields: status %d, want 400 naming the JSON wanted: %s", code, answer)
	}
}
