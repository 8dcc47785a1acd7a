package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// operator is a `flotilla run` process deploying branches of a repository
// served over HTTP with token auth, with its API and webhooks on loopback.
type operator struct {
	t      testing.TB
	repo   *gittest.Repo
	git    *gittest.HTTPServer
	dir    string
	api    string
	secret string // the generic webhook's secret
	token  string // the API's
	stacks map[string]string
	config string
	cmd    *exec.Cmd
	out    *swarmtest.Output
	exited chan error
}

type envOpts struct {
	schedule, selfHeal, stackFile string
}

func serviceFile(color string, extra string) string {
	return fmt.Sprintf(`services:
  web:
    image: flotilla-test/app:v1
    environment: {COLOR: %q%s}
    deploy: {update_config: {monitor: 1s}, restart_policy: {delay: 1s}}
`, color, extra)
}

func startOperator(t testing.TB, envs map[string]envOpts, flags ...string) *operator {
	return startOperatorWith(t, envs, "", flags...)
}

// startOperatorWith adds extra to the configuration's top level.
func startOperatorWith(t testing.TB, envs map[string]envOpts, extra string, flags ...string) *operator {
	t.Helper()
	swarmtest.Client(t)
	swarmtest.Images(t)
	bin := buildFlotilla(t)
	o := &operator{t: t, repo: gittest.NewRepo(t), dir: t.TempDir(), stacks: map[string]string{}, out: &swarmtest.Output{}, exited: make(chan error, 1)}
	o.git = gittest.ServeHTTP(t, o.repo.Bare, "git-token-123")
	o.secret = "hook-secret-456-0123456789abcdef0123"
	port := swarmtest.FreePort(t)
	o.api = fmt.Sprintf("http://127.0.0.1:%d", port)
	o.token = "api-token-789-0123456789abcdef01234"
	files := map[string]string{"git-token": "git-token-123", "api-token": o.token, "hook-secret": o.secret}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(o.dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `cacheDir: %s/cache
repos:
  shop: {url: %q, auth: {tokenFile: %s/git-token}}
server:
  listen: 127.0.0.1:%d
  tokenFile: %s/api-token
  webhooks:
    generic: {secretFile: %s/hook-secret}
%s
environments:
`, o.dir, o.git.URL, o.dir, port, o.dir, o.dir, extra)
	for env, e := range envs {
		o.stacks[env] = swarmtest.Stack(t)
		fmt.Fprintf(&cfg, "  %s: {repo: shop, branch: %s, files: [stack.yml], stack: %s, schedule: %q, selfHeal: %s}\n",
			env, env, o.stacks[env], e.schedule, e.selfHeal)
		o.repo.Switch(env)
		o.repo.Commit(map[string]string{"stack.yml": e.stackFile}, "first "+env)
		o.repo.Push(env)
	}
	o.config = filepath.Join(o.dir, "flotilla.yml")
	config := o.config
	if err := os.WriteFile(config, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	o.cmd = exec.Command(bin, append([]string{"run", "--config", config, "--log-level", "debug"}, flags...)...)
	o.cmd.Stdout, o.cmd.Stderr = o.out, o.out
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { o.exited <- o.cmd.Wait() }()
	t.Cleanup(func() {
		o.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-o.exited:
		case <-time.After(30 * time.Second):
			o.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("operator output:\n%s", o.out.String())
		}
	})
	return o
}

// push commits a new stack file to env's branch.
func (o *operator) push(env, file, msg string) string {
	o.t.Helper()
	o.repo.Switch(env)
	sha := o.repo.Commit(map[string]string{"stack.yml": file}, msg)
	o.repo.Push(env)
	return sha
}

// hook sends a signed generic push webhook for env's branch.
func (o *operator) hook(env string, secret string) int {
	o.t.Helper()
	body, _ := json.Marshal(map[string]string{"repository": o.git.URL, "ref": "refs/heads/" + env})
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, _ := http.NewRequestWithContext(o.t.Context(), http.MethodPost, o.api+"/hooks/generic", bytes.NewReader(body))
	req.Header.Set("X-Flotilla-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatalf("webhook: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// getJSON GETs an API path into v, with the token reads want.
func (o *operator) getJSON(path string, v any) error {
	req, err := http.NewRequest(http.MethodGet, o.api+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// env reads the value of key in the environment of env's web service.
func (o *operator) env(env, key string) (string, error) {
	c := swarmtest.Client(o.t)
	s, _, err := c.ServiceInspectWithRaw(o.t.Context(), o.stacks[env]+"_web", swarm.ServiceInspectOptions{})
	if err != nil {
		return "", err
	}
	for _, e := range s.Spec.TaskTemplate.ContainerSpec.Env {
		if v, ok := strings.CutPrefix(e, key+"="); ok {
			return v, nil
		}
	}
	return "", nil
}

func (o *operator) waitEnv(env, key, want string, timeout time.Duration) {
	o.t.Helper()
	swarmtest.Eventually(o.t, timeout, func() (bool, string, error) {
		got, err := o.env(env, key)
		return err == nil && got == want, fmt.Sprintf("%s: %s=%q (%v), want %q", env, key, got, err, want), nil
	})
}

// records is env's history as the API returns it.
func (o *operator) records(env string) []map[string]any {
	o.t.Helper()
	var h struct{ Records []map[string]any }
	if err := o.getJSON("/api/v1/environments/"+env+"/history", &h); err != nil {
		o.t.Fatal(err)
	}
	return h.Records
}

func TestOperatorDeploysAPushOnItsWebhook(t *testing.T) {
	t.Parallel()
	o := startOperator(t, map[string]envOpts{"dev": {schedule: "@every 1h", selfHeal: "warn", stackFile: serviceFile("blue", "")}})
	o.waitEnv("dev", "COLOR", "blue", time.Minute) // the first pass, at start
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		n := len(o.records("dev"))
		return n == 1, fmt.Sprintf("%d records", n), nil
	})

	o.push("dev", serviceFile("green", ""), "dev: green")
	if code := o.hook("dev", "wrong secret"); code != http.StatusUnauthorized {
		t.Errorf("a badly signed webhook got %d, want 401", code)
	}
	if code := o.hook("dev", o.secret); code != http.StatusAccepted {
		t.Fatalf("the webhook got %d, want 202", code)
	}
	// The schedule is hourly: only the webhook can have started this pass.
	o.waitEnv("dev", "COLOR", "green", time.Minute)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		recs := o.records("dev")
		return len(recs) == 2, fmt.Sprintf("%d records", len(recs)), nil
	})
	if recs := o.records("dev"); recs[len(recs)-1]["trigger"] != "webhook" {
		t.Errorf("the last record's trigger is %v, want webhook", recs[len(recs)-1]["trigger"])
	}
}

func TestOperatorDriftWarnVersusHeal(t *testing.T) {
	t.Parallel()
	o := startOperator(t, map[string]envOpts{
		"warn": {schedule: "@every 2s", selfHeal: "warn", stackFile: serviceFile("blue", "")},
		"heal": {schedule: "@every 2s", selfHeal: "heal", stackFile: serviceFile("blue", "")},
	})
	c := swarmtest.Client(t)
	for _, env := range []string{"warn", "heal"} {
		o.waitEnv(env, "COLOR", "blue", time.Minute)
	}
	// A person changes both services by hand.
	for _, env := range []string{"warn", "heal"} {
		s, _, err := c.ServiceInspectWithRaw(t.Context(), o.stacks[env]+"_web", swarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Spec.TaskTemplate.ContainerSpec.Env = append(s.Spec.TaskTemplate.ContainerSpec.Env, "HOTFIX=1")
		if _, err := c.ServiceUpdate(t.Context(), s.ID, s.Version, s.Spec, swarm.ServiceUpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	o.waitEnv("heal", "HOTFIX", "", time.Minute) // healed from Git
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		var st map[string]any
		if err := o.getJSON("/api/v1/environments/warn", &st); err != nil {
			return false, "", err
		}
		drift, _ := st["drift"].([]any)
		return len(drift) > 0, fmt.Sprintf("warn's status: drift %v", st["drift"]), nil
	})
	if got, _ := o.env("warn", "HOTFIX"); got != "1" {
		t.Errorf("selfHeal warn re-applied Git: HOTFIX=%q", got)
	}
}

func TestOperatorFinishesItsDeployOnSIGTERM(t *testing.T) {
	t.Parallel()
	slow := `, START_DELAY: "4s"}
    healthcheck: {test: ["CMD", "/app", "healthcheck"], interval: 1s, timeout: 1s, retries: 10}
    deploy: {update_config: {monitor: 1s}, restart_policy: {delay: 1s}`
	o := startOperator(t, map[string]envOpts{"dev": {schedule: "@every 1h", selfHeal: "warn", stackFile: serviceFile("blue", "")}},
		"--grace", "2m")
	o.waitEnv("dev", "COLOR", "blue", time.Minute)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		return len(o.records("dev")) == 1, "waiting for the first record", nil
	})
	sha := o.push("dev", strings.Replace(serviceFile("green", slow), "\n    deploy: {update_config: {monitor: 1s}, restart_policy: {delay: 1s}}\n", "\n", 1), "dev: slow green")
	if code := o.hook("dev", o.secret); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	// The update is under way: the spec changed, the new task is not up yet.
	o.waitEnv("dev", "COLOR", "green", time.Minute)
	if err := o.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-o.exited:
		if err != nil {
			t.Fatalf("the operator exited with %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the operator did not stop within 90s of SIGTERM")
	}
	// The deploy it was running finished and was recorded.
	out, err := exec.Command(buildFlotilla(t), "history", "dev", "--config", filepath.Join(o.dir, "flotilla.yml"), "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("history: %v\n%s", err, out)
	}
	var recs []struct {
		Commit  struct{ SHA string }
		Outcome string
	}
	if err := json.Unmarshal(out, &recs); err != nil {
		t.Fatalf("history JSON: %v\n%s", err, out)
	}
	if len(recs) != 2 || recs[0].Commit.SHA != sha || recs[0].Outcome != "succeeded" {
		t.Errorf("history after SIGTERM: %+v, want the slow commit %s recorded as succeeded first", recs, sha[:7])
	}
	swarmtest.WaitRunning(t, swarmtest.Client(t), o.stacks["dev"]+"_web", 1, time.Minute)
}
