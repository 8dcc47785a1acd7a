package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/sync"
)

// Environments declared in Git: the operator reads a bootstrap branch's
// files, deploys the environments they declare, follows a pushed change
// without a restart, refuses an invalid one (the last good set stays, the
// refusal is logged) and, when an environment is removed, stops syncing it
// without deleting its stack.
func TestOperatorFollowsEnvironmentsDeclaredInGit(t *testing.T) {
	t.Parallel()
	inc := swarmtest.Stack(t)
	o := startOperatorWith(t, map[string]envOpts{"dev": {schedule: "@every 1h", selfHeal: "warn", stackFile: serviceFile("blue", "")}},
		"include:\n  - {repo: shop, branch: platform, files: [envs/*.yml]}\n", "--watch-config", "500ms")
	o.repo.Switch("inc")
	o.repo.Commit(map[string]string{"stack.yml": serviceFile("inc-1", "")}, "first inc")
	o.repo.Push("inc")
	o.stacks["inc"] = inc
	// The refused commit is recorded in the local cluster's history, which
	// no stack owns.
	t.Cleanup(func() {
		d := cluster.NewFromClient(swarmtest.Client(t))
		if _, err := sync.NewHistory(d, 0).Purge(context.WithoutCancel(t.Context()), sync.ConfigStack); err != nil {
			t.Error(err)
		}
	})
	declare := func(yml, msg string) {
		o.repo.Switch("platform")
		o.repo.Commit(map[string]string{"envs/team.yml": yml}, msg)
		o.repo.Push("platform")
	}
	declare(fmt.Sprintf("environments:\n  inc: {repo: shop, branch: inc, files: [stack.yml], stack: %s, interval: 5s}\n", inc), "declare inc")
	o.waitEnv("inc", "COLOR", "inc-1", time.Minute)

	declare("environments:\n  inc: {repo: shop, branch: inc, files: [stack.yml]}\n", "forget the stack name")
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		return strings.Contains(o.out.String(), "environments declared in Git refused"), "waiting for the refusal in the log", nil
	})
	var st map[string]any
	if err := o.getJSON("/api/v1/environments/inc", &st); err != nil {
		t.Fatalf("after a refused change the last good set must stay: %v", err)
	}

	declare("environments: {}\n", "retire inc")
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		err := o.getJSON("/api/v1/environments/inc", &st)
		return err != nil && strings.Contains(err.Error(), fmt.Sprint(http.StatusNotFound)), fmt.Sprintf("inc still served (%v)", err), nil
	})
	if got, err := o.env("inc", "COLOR"); err != nil || got != "inc-1" {
		t.Errorf("removing the environment touched its stack: COLOR=%q, %v", got, err)
	}
}
