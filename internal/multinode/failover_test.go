package multinode

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/sync"
)

// failoverFile rolls three replicas one at a time, slowly enough for a
// manager to die in the middle. They run on node only, as a production
// swarm keeps its workload off its managers: a rolling update whose task
// was on a node that dies stays "updating" until the node comes back
// (engine 20.10), which is the swarm's business, not the operators'.
func failoverFile(node, color string) string {
	return fmt.Sprintf(`services:
  web:
    image: flotilla-test/app:v1
    environment: {COLOR: %s, START_DELAY: 2s}
    deploy:
      replicas: 3
      placement: {constraints: [node.hostname == %s]}
      update_config: {parallelism: 1, delay: 1s, monitor: 2s}
      restart_policy: {delay: 1s}
`, color, node)
}

// replica is one `flotilla run` process, talking to one manager.
type replica struct {
	node   *swarmtest.Node
	cmd    *exec.Cmd
	out    *swarmtest.Output
	exited chan error
}

// startReplica runs the operator with config against node's engine (its
// DOCKER_HOST: the configuration names no cluster), with a Git cache of
// its own, as a replica on another machine would have.
func startReplica(t *testing.T, config string, node *swarmtest.Node) *replica {
	t.Helper()
	r := &replica{node: node, out: &swarmtest.Output{}, exited: make(chan error, 1)}
	r.cmd = flotillaCmd(t, "", []string{"DOCKER_HOST=" + node.Host, "XDG_CACHE_HOME=" + t.TempDir()},
		"run", "--config", config, "--log-level", "debug")
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(30 * time.Second):
			r.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("operator on %s:\n%s", node.Name, r.out.String())
		}
	})
	return r
}

// leaseHolder reads who holds the stack's lease, through engine c.
func leaseHolder(t *testing.T, c *swarmtest.Node, stack string) *cluster.Holder {
	t.Helper()
	list, err := c.Client.ConfigList(t.Context(), swarm.ConfigListOptions{
		Filters: filters.NewArgs(filters.Arg("label", cluster.LabelLease+"="+stack))})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		return nil
	}
	var h cluster.Holder
	if err := json.Unmarshal([]byte(list[0].Spec.Labels["io.flotilla.lease.holder"]), &h); err != nil {
		t.Fatalf("the lease's holder label: %v", err)
	}
	return &h
}

// Two operator replicas with the same configuration, each talking to its
// own manager of a three-manager swarm: one at a time deploys a stack (the
// lease). The manager of the one deploying dies mid-rollout; the other
// takes the lease once it expires, finds the dead deploy's journal and
// finishes it — recorded once, not applied again. With the manager back,
// the next commit deploys once too.
func TestOperatorReplicasFailOver(t *testing.T) {
	t.Parallel()
	c := managers(t)
	stack := c.Stack(t)
	observer := c.Nodes[2] // neither replica's manager: it never dies here, and runs the tasks
	repo := gittest.NewRepo(t)
	repo.Switch("dev")
	first := repo.Commit(map[string]string{"stack.yml": failoverFile(observer.Name, "blue")}, "blue")
	repo.Push("dev")
	config := filepath.Join(t.TempDir(), "flotilla.yml")
	cfg := fmt.Sprintf(`repos:
  shop: {url: %q}
defaults: {progressDeadline: 3m, resolveImage: never}
environments:
  prod: {repo: shop, branch: dev, files: [stack.yml], stack: %s, schedule: "@every 2s"}
`, repo.URL(), stack)
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	replicas := []*replica{startReplica(t, config, c.Nodes[0]), startReplica(t, config, c.Nodes[1])}
	byPID := func(pid int) *replica {
		for _, r := range replicas {
			if r.cmd.Process.Pid == pid {
				return r
			}
		}
		return nil
	}
	recorded := func(sha string) func() (bool, string, error) {
		return func() (bool, string, error) {
			// A manager may not answer for a moment while another dies
			// or comes back: the raft elects a leader, catches up.
			records, err := readHistory(t.Context(), observer.Host, stack)
			return err == nil && perCommit(records)[sha] > 0, fmt.Sprintf("history %+v (%v)", records, err), nil
		}
	}
	swarmtest.Eventually(t, 2*time.Minute, recorded(first))

	// The next commit: once its update is sent, under an open journal,
	// the replica holding the lease loses its manager.
	second := repo.Commit(map[string]string{"stack.yml": failoverFile(observer.Name, "green")}, "green")
	repo.Push("dev")
	d, err := cluster.Connect(t.Context(), cluster.Options{Host: observer.Host})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var journal *apply.Journal
	swarmtest.Eventually(t, 2*time.Minute, func() (bool, string, error) {
		j, err := apply.FindJournal(t.Context(), d, stack)
		if err != nil || j == nil || j.Target.Commit != second {
			return false, fmt.Sprintf("journal %+v (%v)", j, err), nil
		}
		journal = j
		web := service(t, observer, stack+"_web")
		color := envOf(&web.Spec, "COLOR")
		return color == "green", "web's COLOR is " + color, nil
	})
	holder := leaseHolder(t, observer, stack)
	if holder == nil || holder.ID != journal.WriterID {
		t.Fatalf("lease held by %+v, journal written by %s (%s): want the same writer", holder, journal.Writer, journal.WriterID)
	}
	active := byPID(holder.PID)
	if active == nil {
		t.Fatalf("the lease holder %+v is neither replica", holder)
	}
	other := replicas[0]
	if other == active {
		other = replicas[1]
	}
	c.Kill(t, active.node)

	// The other replica finishes the deploy: the update was sent, so it
	// converges, and is recorded as the dead writer's, recovered.
	swarmtest.Eventually(t, 3*time.Minute, recorded(second))
	records := history(t, observer.Host, stack)
	last := records[len(records)-1]
	if last.Commit.SHA != second || last.Trigger != sync.TriggerRecovery || last.Outcome != sync.Succeeded {
		t.Errorf("the record of the second commit is %+v, want it recovered and succeeded", last)
	}
	if j, err := apply.FindJournal(t.Context(), d, stack); err != nil || j != nil {
		t.Errorf("the journal is still open after the recovery: %+v (%v)", j, err)
	}
	if !strings.Contains(other.out.String(), "finishing a deploy whose writer is gone") {
		t.Errorf("the replica on %s did not recover the journal:\n%s", other.node.Name, other.out.String())
	}
	swarmtest.WaitRunning(t, observer.Client, stack+"_web", 3, 2*time.Minute)
	web := service(t, observer, stack+"_web")
	if now, before := envOf(&web.Spec, "COLOR"), envOf(web.PreviousSpec, "COLOR"); now != "green" || before != "blue" {
		t.Errorf("web's COLOR is %q, before that %q: want green, updated once from blue", now, before)
	}

	// The manager comes back; both replicas go on; the next commit too is
	// deployed once.
	c.Repair(t)
	third := repo.Commit(map[string]string{"stack.yml": failoverFile(observer.Name, "red")}, "red")
	repo.Push("dev")
	swarmtest.Eventually(t, 3*time.Minute, recorded(third))
	records = history(t, observer.Host, stack)
	if n := perCommit(records); len(records) != 3 || n[first] != 1 || n[second] != 1 || n[third] != 1 {
		t.Errorf("history %+v: want one record per commit", records)
	}
	web = service(t, observer, stack+"_web")
	if now, before := envOf(&web.Spec, "COLOR"), envOf(web.PreviousSpec, "COLOR"); now != "red" || before != "green" {
		t.Errorf("web's COLOR is %q, before that %q: want red, updated once from green", now, before)
	}
	for _, r := range replicas {
		select {
		case err := <-r.exited:
			t.Errorf("the replica on %s exited: %v", r.node.Name, err)
		default:
		}
	}
}
