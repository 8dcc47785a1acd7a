package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// TestOperatorReloadsOnSIGHUPAndNotifies: a running operator announces its
// deploys to a notification webhook; SIGHUP with a broken configuration is
// rejected and the operator carries on; SIGHUP with a new environment
// deploys it.
func TestOperatorReloadsOnSIGHUPAndNotifies(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev map[string]any
		if json.Unmarshal(body, &ev) == nil {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		}
	}))
	t.Cleanup(hook.Close)
	kinds := func() string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, e := range events {
			out = append(out, fmt.Sprintf("%v:%v", e["environment"], e["kind"]))
		}
		return strings.Join(out, " ")
	}

	// Named before the operator starts, so that its cleanup runs after the
	// operator stopped: a running operator would deploy it again.
	qa := swarmtest.Stack(t)
	o := startOperatorWith(t, map[string]envOpts{"dev": {schedule: "@every 1h", selfHeal: "warn", stackFile: serviceFile("blue", "")}},
		fmt.Sprintf("notifications:\n  - {type: webhook, url: %q}", hook.URL))
	o.waitEnv("dev", "COLOR", "blue", time.Minute)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		return strings.Contains(kinds(), "dev:deploy_succeeded"), "events: " + kinds(), nil
	})

	good, err := os.ReadFile(o.config)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(o.config, append(good, []byte("  broken: {repo: nowhere}\n")...), 0o600)
	o.cmd.Process.Signal(syscall.SIGHUP)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		return strings.Contains(o.out.String(), "configuration reload rejected"), "waiting for the rejection in the log", nil
	})
	if resp, err := http.Get(o.api + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after a rejected reload /healthz: %v %v", resp, err)
	}

	// An identity file that is there but holds no identity: `flotilla
	// validate` refuses it, and so does a reload.
	junk := filepath.Join(o.dir, "junk.key")
	os.WriteFile(junk, []byte("not an age identity\n"), 0o600)
	os.WriteFile(o.config, append(good, []byte(fmt.Sprintf("  junk: {repo: shop, branch: dev, files: [stack.yml], stack: %s-junk, identities: [%s]}\n", qa, junk))...), 0o600)
	if out, err := runAll(t, "validate", "--config", o.config); err == nil {
		t.Errorf("validate accepted an identity file holding no identity:\n%s", out)
	}
	o.cmd.Process.Signal(syscall.SIGHUP)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		return strings.Count(o.out.String(), "configuration reload rejected") == 2, "waiting for the second rejection in the log", nil
	})

	// A new environment on the same repository, added by a reload.
	o.stacks["qa"] = qa
	o.repo.Switch("qa")
	o.repo.Commit(map[string]string{"stack.yml": serviceFile("qa-1", "")}, "first qa")
	o.repo.Push("qa")
	os.WriteFile(o.config, append(good, []byte(fmt.Sprintf("  qa: {repo: shop, branch: qa, files: [stack.yml], stack: %s, schedule: '@every 2s'}\n", qa))...), 0o600)
	o.cmd.Process.Signal(syscall.SIGHUP)
	o.waitEnv("qa", "COLOR", "qa-1", time.Minute)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		return strings.Contains(kinds(), "qa:deploy_succeeded"), "events: " + kinds(), nil
	})
}
