package main

import (
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// restart starts a new `flotilla run` on the operator's configuration, as
// a replacement task would after the old one died.
func (o *operator) restart() {
	o.t.Helper()
	o.cmd = exec.Command(buildFlotilla(o.t), "run", "--config", o.config, "--log-level", "debug")
	o.cmd.Stdout, o.cmd.Stderr = o.out, o.out
	if err := o.cmd.Start(); err != nil {
		o.t.Fatal(err)
	}
	o.exited = make(chan error, 1)
	go func() { o.exited <- o.cmd.Wait() }()
}

// `flotilla run` killed with SIGKILL while a crashing commit converges:
// the operator that replaces it finishes the deploy from its journal — the
// stack goes back to the last good commit, the commit is recorded as rolled
// back (never as succeeded) and is not applied again.
func TestOperatorKilledMidDeployIsRecoveredByItsReplacement(t *testing.T) {
	t.Parallel()
	o := startOperator(t, map[string]envOpts{"dev": {schedule: "@every 2s", selfHeal: "heal", stackFile: serviceFile("blue", "")}})
	o.waitEnv("dev", "COLOR", "blue", time.Minute)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		n := len(o.records("dev"))
		return n == 1, fmt.Sprintf("%d records", n), nil
	})
	bad := o.push("dev", serviceFile("red", `, CRASH: "1", START_DELAY: 1s`), "dev: red crashes")
	o.waitEnv("dev", "COLOR", "red", time.Minute) // the update is sent
	o.cmd.Process.Signal(syscall.SIGKILL)
	<-o.exited

	o.restart()
	o.waitEnv("dev", "COLOR", "blue", 2*time.Minute)
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		recs := o.records("dev")
		last := recs[len(recs)-1]
		commit, _ := last["commit"].(map[string]any)
		return commit["sha"] == bad && last["outcome"] == "failed and rolled back",
			fmt.Sprintf("last record %v", last), nil
	})
	for _, r := range o.records("dev") {
		if commit, _ := r["commit"].(map[string]any); commit["sha"] == bad && r["outcome"] == "succeeded" {
			t.Errorf("the crashing commit was recorded as succeeded: %v", r)
		}
	}
	// Later passes leave the quarantined commit alone.
	n := len(o.records("dev"))
	version := func() uint64 {
		s, _, err := swarmtest.Client(t).ServiceInspectWithRaw(t.Context(), o.stacks["dev"]+"_web", swarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Version.Index
	}
	before := version()
	passes := o.unchangedPasses("dev")
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		return o.unchangedPasses("dev") >= passes+2, "waiting for two more passes", nil
	})
	if got := len(o.records("dev")); got != n {
		t.Errorf("%d records after more passes, want %d: the quarantined commit was retried", got, n)
	}
	if v := version(); v != before {
		t.Errorf("the service was written again (version %d → %d)", before, v)
	}
}
