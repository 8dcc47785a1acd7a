package operator_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/docker/docker/client"

	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// TestOperatorService deploys stack.yml with the image the Dockerfile's
// final stage makes, and checks the operator in it does its job: it
// answers /healthz, fetches a private repository with
// the Git token secret, decrypts an age secret with the identity secret,
// deploys the environment, takes API calls with the token secret, and
// deploys a pushed commit when a webhook signed with the webhook secret says so.
func TestOperatorService(t *testing.T) {
	t.Parallel()
	api := swarmtest.Client(t)
	swarmtest.Images(t)
	cli := buildFlotilla(t)
	img := operatorImage(t, cli)
	// The environment's stack is removed after the operator's, so the
	// operator can't deploy it again once it is gone.
	envStack := swarmtest.Stack(t)
	opStack := swarmtest.Stack(t)

	identity, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	repo := gittest.NewRepo(t)
	repo.Switch("dev")
	repo.Commit(map[string]string{"stack.yml": appStack(swarmtest.ImageV1), "greeting.age": encrypt(t, identity, "hello")}, "v1")
	repo.Push("dev")
	s := secretFiles{
		"age_identity":          identity.String(),
		"api_token":             random(t),
		"github_webhook_secret": random(t),
		"git_token":             random(t),
		"version_key":           random(t),
	}
	gitURL := gittest.ServeHTTP(t, repo.Bare, s["git_token"]).URL
	port := swarmtest.FreePort(t)

	dir := t.TempDir()
	stackFile, err := os.ReadFile("stack.yml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "stack.yml"), string(stackFile))
	writeFile(t, filepath.Join(dir, "flotilla.yml"), operatorConfig(t, gitURL, envStack, port))
	writeFile(t, filepath.Join(dir, "host-network.yml"), hostNetwork(port))
	s.write(t, filepath.Join(dir, "secrets"))

	deploy := exec.CommandContext(t.Context(), cli, "deploy", "-c", filepath.Join(dir, "stack.yml"),
		"-c", filepath.Join(dir, "host-network.yml"), "--var", "FLOTILLA_IMAGE="+img,
		"--resolve-image", "never", "--timeout", "90s", opStack)
	deploy.Env = append(os.Environ(), "FLOTILLA_VERSION_KEY_FILE="+filepath.Join(dir, "secrets", "version_key"))
	out, err := deploy.CombinedOutput()
	showLogsOnFailure(t, api, opStack+"_flotilla")
	if err != nil {
		t.Fatalf("flotilla deploy of the operator stack: %v\n%s", err, out)
	}

	// Environments without an identity are the only readers of the version
	// key, and this one has an identity: check its path by the spec.
	op, _, err := api.ServiceInspectWithRaw(t.Context(), opStack+"_flotilla", swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mounted := map[string]bool{}
	for _, ref := range op.Spec.TaskTemplate.ContainerSpec.Secrets {
		mounted["/run/secrets/"+ref.File.Name] = true
	}
	if !slices.Contains(op.Spec.TaskTemplate.ContainerSpec.Env, "FLOTILLA_VERSION_KEY_FILE=/run/secrets/version_key") || !mounted["/run/secrets/version_key"] {
		t.Errorf("the operator's environment %v and secrets %v don't give it the version key", op.Spec.TaskTemplate.ContainerSpec.Env, mounted)
	}

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		code, body := call(t, http.MethodGet, base+"/healthz", nil, nil)
		return code == http.StatusOK, fmt.Sprintf("/healthz: %d %s", code, body), nil
	})
	web := envStack + "_web"
	waitImage(t, api, web, swarmtest.ImageV1)
	swarmtest.WaitRunning(t, api, web, 1, 90*time.Second)
	svc, _, err := api.ServiceInspectWithRaw(t.Context(), web, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if refs := svc.Spec.TaskTemplate.ContainerSpec.Secrets; len(refs) != 1 || !strings.HasPrefix(refs[0].SecretName, envStack+"_greeting_") {
		t.Errorf("%s's secrets: %+v, want the decrypted greeting", web, refs)
	}

	sync := base + "/api/v1/environments/dev/sync"
	if code, body := call(t, http.MethodPost, sync, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("sync without the token: %d %s, want 401", code, body)
	}
	bearer := http.Header{"Authorization": {"Bearer " + s["api_token"]}}
	if code, body := call(t, http.MethodPost, sync, bearer, nil); code/100 != 2 {
		t.Errorf("sync with the token: %d %s, want 2xx", code, body)
	}

	// The schedule is an hour: only the webhook can bring v2 in time.
	repo.Commit(map[string]string{"stack.yml": appStack(swarmtest.ImageV2)}, "v2")
	repo.Push("dev")
	payload := fmt.Appendf(nil, `{"ref":"refs/heads/dev","after":%q,"repository":{"clone_url":%q}}`, repo.Head(), gitURL)
	mac := hmac.New(sha256.New, []byte(s["github_webhook_secret"]))
	mac.Write(payload)
	hook := http.Header{"X-GitHub-Event": {"push"}, "Content-Type": {"application/json"},
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}}
	if code, body := call(t, http.MethodPost, base+"/hooks/github", hook, payload); code != http.StatusAccepted || !strings.Contains(body, `"dev"`) {
		t.Fatalf("github webhook: %d %s, want 202 triggering dev", code, body)
	}
	waitImage(t, api, web, swarmtest.ImageV2)
	swarmtest.WaitRunning(t, api, web, 1, 90*time.Second)
}

// appStack is the environment's stack file: one service, one age-encrypted secret.
func appStack(image string) string {
	return fmt.Sprintf(`services:
  web:
    image: %s
    secrets: [greeting]
    deploy:
      update_config: {monitor: 1s}
      restart_policy: {delay: 1s}
secrets:
  greeting:
    file: ./greeting.age
`, image)
}

// waitImage waits until the service's spec names image, as the operator's
// deploy of a commit leaves it.
func waitImage(t *testing.T, api client.APIClient, service, image string) {
	t.Helper()
	swarmtest.Eventually(t, 90*time.Second, func() (bool, string, error) {
		svc, _, err := api.ServiceInspectWithRaw(t.Context(), service, swarm.ServiceInspectOptions{})
		if err != nil {
			return false, fmt.Sprintf("%s: %v", service, err), nil
		}
		got := svc.Spec.TaskTemplate.ContainerSpec.Image
		return strings.HasPrefix(got, image), fmt.Sprintf("%s runs %s", service, got), nil
	})
}
