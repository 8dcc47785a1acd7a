package operator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// TestOperatorDeploysItself: the operator's own stack lives in Git beside
// its configuration, its secrets age-encrypted, and the operator deploys it
// like any environment. A commit that changes the operator's service makes
// the operator replace itself (stop-first: the old task is stopped in the
// middle of its own deploy); the new task finds the deploy's journal,
// finishes it and records the commit as deployed.
//
// Not parallel with TestOperatorService: both run the operator's image,
// which each removes when it ends.
func TestOperatorDeploysItself(t *testing.T) {
	api := swarmtest.Client(t)
	cli := buildFlotilla(t)
	img := operatorImage(t, cli)
	opStack := swarmtest.Stack(t)
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	gitToken, apiToken := random(t)+random(t), random(t)+random(t)
	repo := gittest.NewRepo(t)
	gitURL := gittest.ServeHTTP(t, repo.Bare, gitToken).URL
	port := swarmtest.FreePort(t)

	stackFile, err := os.ReadFile("stack.yml")
	if err != nil {
		t.Fatal(err)
	}
	// In Git, the secrets are the .age files the operator decrypts with
	// its own identity; the operator stops within a short grace.
	ops := strings.NewReplacer("file: ./secrets/age_identity", "file: ./secrets/age_identity.age",
		"file: ./secrets/api_token", "file: ./secrets/api_token.age",
		"file: ./secrets/github_webhook_secret", "file: ./secrets/github_webhook_secret.age",
		"file: ./secrets/git_token", "file: ./secrets/git_token.age",
		"file: ./secrets/version_key", "file: ./secrets/version_key.age",
		`command: ["run", "--config", "/etc/flotilla/flotilla.yml"]`,
		`command: ["run", "--config", "/etc/flotilla/flotilla.yml", "--grace", "2s", "--log-level", "debug"]`).Replace(string(stackFile))
	config := fmt.Sprintf(`cacheDir: /var/lib/flotilla
repos:
  deploy: {url: %q, auth: {tokenFile: /run/secrets/git_token}}
environments:
  self:
    repo: deploy
    branch: ops
    files: [stack.yml, host-network.yml]
    stack: %s
    identities: [/run/secrets/age_identity]
    variables: {FLOTILLA_IMAGE: %q}
    interval: 5s
    progressDeadline: 1m
    # The operator drives the engine through its socket; the test runs it
    # on the host's network.
    policy: {bindMounts: [/var/run/docker.sock], hostNetwork: true}
server:
  listen: 127.0.0.1:%d
  tokenFile: /run/secrets/api_token
`, gitURL, opStack, img, port)
	files := map[string]string{"stack.yml": ops, "host-network.yml": hostNetwork(port), "flotilla.yml": config}
	for name, plain := range map[string]string{"age_identity": identity.String(), "api_token": apiToken,
		"github_webhook_secret": random(t) + random(t), "git_token": gitToken, "version_key": random(t) + random(t)} {
		files["secrets/"+name+".age"] = encrypt(t, identity, plain+"\n")
	}
	repo.Switch("ops")
	repo.Commit(files, "the operator")
	repo.Push("ops")

	// Installed once by hand from a checkout, as the README says.
	dir := t.TempDir()
	for name, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700)
		writeFile(t, filepath.Join(dir, name), content)
	}
	writeFile(t, filepath.Join(dir, "id.key"), identity.String()+"\n")
	deploy := exec.CommandContext(t.Context(), cli, "deploy", "-c", filepath.Join(dir, "stack.yml"), "-c", filepath.Join(dir, "host-network.yml"),
		"-i", filepath.Join(dir, "id.key"), "--var", "FLOTILLA_IMAGE="+img, "--resolve-image", "never", "--timeout", "90s", opStack)
	out, err := deploy.CombinedOutput()
	showLogsOnFailure(t, api, opStack+"_flotilla")
	if err != nil {
		t.Fatalf("installing the operator: %v\n%s", err, out)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	bearer := http.Header{"Authorization": {"Bearer " + apiToken}}
	records := func() []map[string]any {
		code, body := call(t, http.MethodGet, base+"/api/v1/environments/self/history", bearer, nil)
		if code != http.StatusOK {
			return nil
		}
		var h struct{ Records []map[string]any }
		json.Unmarshal([]byte(body), &h)
		return h.Records
	}
	swarmtest.Eventually(t, 2*time.Minute, func() (bool, string, error) {
		recs := records()
		return len(recs) > 0 && recs[len(recs)-1]["outcome"] == "succeeded", fmt.Sprintf("self's history: %v", recs), nil
	})

	// A commit that changes the operator itself.
	files["stack.yml"] = strings.Replace(ops, "FLOTILLA_VERSION_KEY_FILE: /run/secrets/version_key",
		"FLOTILLA_VERSION_KEY_FILE: /run/secrets/version_key\n      MARK: replaced-by-itself", 1)
	changed := repo.Commit(map[string]string{"stack.yml": files["stack.yml"]}, "the operator, changed")
	repo.Push("ops")
	swarmtest.Eventually(t, 3*time.Minute, func() (bool, string, error) {
		svc, _, err := api.ServiceInspectWithRaw(t.Context(), opStack+"_flotilla", swarm.ServiceInspectOptions{})
		if err != nil {
			return false, "", err
		}
		if !slices.Contains(svc.Spec.TaskTemplate.ContainerSpec.Env, "MARK=replaced-by-itself") {
			return false, "waiting for the operator to deploy its own change", nil
		}
		recs := records()
		for _, r := range recs {
			commit, _ := r["commit"].(map[string]any)
			// Recorded by the new task: its predecessor was stopped in
			// the middle of that deploy.
			if commit["sha"] == changed && r["outcome"] == "succeeded" && r["trigger"] == "recovery" {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("waiting for the new task to record the change: %v", recs), nil
	})
	for _, r := range records() {
		commit, _ := r["commit"].(map[string]any)
		if commit["sha"] == changed && r["outcome"] != "succeeded" && r["outcome"] != "interrupted" {
			t.Errorf("the operator's change to itself was recorded as %v: %v", r["outcome"], r)
		}
	}
}
