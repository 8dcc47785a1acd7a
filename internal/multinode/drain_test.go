package multinode

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/sync"
)

// drainFile is three replicas rolled one at a time, slowly enough for a
// node to be drained in the middle.
func drainFile(tag string) string {
	return fmt.Sprintf(`services:
  web:
    image: flotilla-test/app:%s
    environment: {START_DELAY: 1s}
    deploy:
      replicas: 3
      update_config: {parallelism: 1, delay: 1s, monitor: 5s}
      restart_policy: {delay: 1s}
`, tag)
}

// gitopsConfig writes an operator configuration deploying branch dev of
// repo to stack on the engine at host, and returns its path.
func gitopsConfig(t *testing.T, repo *gittest.Repo, host, stack, extra string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`cacheDir: %s/cache
repos:
  shop: {url: %q}
clusters:
  nodes: {host: %q}
defaults: {progressDeadline: 2m, resolveImage: never}
environments:
  dev: {repo: shop, branch: dev, files: [stack.yml], stack: %s, cluster: nodes%s}
`, dir, repo.URL(), host, stack, extra)
	path := filepath.Join(dir, "flotilla.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rollout is a `flotilla sync` of a second commit, under way.
type rollout struct {
	stack, config string
	first, second string
	out           *swarmtest.Output
	exited        chan error
	// watched is the node of the one task updated so far, which Swarm
	// watches for its monitor period; untouched are the nodes of old tasks
	// only.
	watched   *swarmtest.Node
	untouched []*swarmtest.Node
}

// startRollout deploys v1 with `flotilla sync`, pushes v2 and syncs it in
// the background, and returns once one task of v2 runs.
func startRollout(t *testing.T, c *swarmtest.Cluster) *rollout {
	t.Helper()
	r := &rollout{stack: c.Stack(t), out: &swarmtest.Output{}, exited: make(chan error, 1)}
	repo := gittest.NewRepo(t)
	repo.Switch("dev")
	r.first = repo.Commit(map[string]string{"stack.yml": drainFile("v1")}, "v1")
	repo.Push("dev")
	r.config = gitopsConfig(t, repo, c.Manager().Host, r.stack, "")
	if stdout, stderr, code := flotilla(t, "", nil, "sync", "dev", "--config", r.config); code != 0 {
		t.Fatalf("first sync: status %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	r.second = repo.Commit(map[string]string{"stack.yml": drainFile("v2")}, "v2")
	repo.Push("dev")
	cmd := flotillaCmd(t, "", nil, "sync", "dev", "--config", r.config)
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		svc := service(t, c.Manager(), r.stack+"_web")
		tasks, err := swarmtest.Tasks(t.Context(), c.Manager().Client, r.stack+"_web")
		var fresh []swarm.Task
		for _, task := range tasks {
			if task.DesiredState == swarm.TaskStateRunning && task.Spec.ContainerSpec.Image == swarmtest.ImageV2 {
				fresh = append(fresh, task)
			}
		}
		updating := svc.UpdateStatus != nil && svc.UpdateStatus.State == swarm.UpdateStateUpdating
		if !updating || len(fresh) != 1 || fresh[0].Status.State != swarm.TaskStateRunning {
			return false, fmt.Sprintf("update status %+v, %d new tasks", svc.UpdateStatus, len(fresh)), err
		}
		r.watched = c.Node(fresh[0].NodeID)
		return true, "", err
	})
	for _, n := range c.Nodes {
		if n != r.watched {
			r.untouched = append(r.untouched, n)
		}
	}
	return r
}

// wait waits for the sync to end and returns its error.
func (r *rollout) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.exited:
		return err
	case <-time.After(3 * time.Minute):
		t.Fatalf("sync of v2 still running after 3m:\n%s", r.out.String())
		return nil
	}
}

// runsOnly checks that web has three running tasks, all of image, none on
// the drained node.
func runsOnly(t *testing.T, c *swarmtest.Cluster, stack, image string, drained *swarmtest.Node) {
	t.Helper()
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		where, err := c.TaskNodes(t.Context(), stack+"_web")
		total := 0
		for _, n := range where {
			total += n
		}
		return total == 3 && where[drained.Name] == 0, fmt.Sprintf("web runs on %v, want 3 tasks off %s", where, drained.Name), err
	})
	tasks, err := swarmtest.Tasks(t.Context(), c.Manager().Client, stack+"_web")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if task.DesiredState == swarm.TaskStateRunning && task.Spec.ContainerSpec.Image != image {
			t.Errorf("task %s runs %s, want %s", task.ID, task.Spec.ContainerSpec.Image, image)
		}
	}
}

// A node drained while Flotilla rolls a commit out hands its tasks to the
// others. What becomes of the deploy depends on which node: the history
// records the commit once, as what really happened.
func TestDrainDuringARollout(t *testing.T) {
	t.Parallel()
	c := workersAlone(t)

	// Its old tasks are restarted elsewhere on the new spec; the update
	// goes on and converges on the two other nodes.
	t.Run("a-node-of-old-tasks", func(t *testing.T) {
		r := startRollout(t, c)
		drained := r.untouched[0]
		c.Drain(t, drained)
		if err := r.wait(t); err != nil {
			t.Fatalf("sync of v2 during the drain: %v\n%s", err, r.out.String())
		}
		runsOnly(t, c, r.stack, swarmtest.ImageV2, drained)
		records := history(t, c.Manager().Host, r.stack)
		if n := perCommit(records); len(records) != 2 || n[r.first] != 1 || n[r.second] != 1 {
			t.Fatalf("history %+v: want one record of each commit", records)
		}
		if last := records[1]; last.Commit.SHA != r.second || last.Outcome != sync.Succeeded || last.LastGood != r.second {
			t.Errorf("the record of v2 is %+v, want it succeeded and last good", last)
		}
	})

	// Swarm counts the task it watches, shut down by the drain, as a
	// failed update and pauses it: the deploy fails with Swarm's reason,
	// the stack is rolled back, the commit recorded failed and quarantined.
	t.Run("the-node-of-the-watched-task", func(t *testing.T) {
		r := startRollout(t, c)
		drained := r.watched
		c.Drain(t, drained)
		if err := r.wait(t); err == nil || !strings.Contains(r.out.String(), "update paused") {
			t.Fatalf("sync of v2 draining the node of its watched task: %v, want it failed saying the update paused\n%s", err, r.out.String())
		}
		runsOnly(t, c, r.stack, swarmtest.ImageV1, drained)
		records := history(t, c.Manager().Host, r.stack)
		if n := perCommit(records); len(records) != 2 || n[r.first] != 1 || n[r.second] != 1 {
			t.Fatalf("history %+v: want one record of each commit", records)
		}
		if last := records[1]; last.Outcome != sync.RolledBack || last.Error == "" || last.LastGood != r.first {
			t.Errorf("the record of v2 is %+v, want it rolled back with its reason, v1 last good", last)
		}
		// Quarantined: the next sync leaves the stack alone.
		stdout, stderr, code := flotilla(t, "", nil, "sync", "dev", "--config", r.config)
		if code != 0 || !strings.Contains(stdout+stderr, "quarantined") {
			t.Errorf("the sync after: status %d, want 0 and the commit quarantined\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if n := len(history(t, c.Manager().Host, r.stack)); n != 2 {
			t.Errorf("%d records after the quarantined sync, want still 2", n)
		}
		runsOnly(t, c, r.stack, swarmtest.ImageV1, drained)
	})
}
