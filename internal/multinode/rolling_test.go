package multinode

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// rollingStack is one web task per node, answering VERSION on a host port
// of each node, updated one node at a time; api runs beside it. CRASH
// (a swarm template) can make web's tasks fail on one node only.
const rollingStack = `
services:
  web:
    image: flotilla-test/app:${TAG}
    environment: {CRASH: '${CRASH:-0}', START_DELAY: 500ms}
    ports: [{target: 8080, published: "${PORT}", mode: host}]
    deploy:
      replicas: 3
      placement: {max_replicas_per_node: 1}
      update_config: {parallelism: 1, delay: 2s, monitor: 3s, order: stop-first}
      restart_policy: {delay: 1s}
  api:
    image: flotilla-test/app:${API_TAG:-v1}
    deploy:
      update_config: {monitor: 1s}
`

// sampler asks every node's port what it answers, over and over, until
// stopped: what a client of the service saw during a deploy.
type sampler struct {
	nodes  []*swarmtest.Node
	port   int
	cancel context.CancelFunc
	done   chan struct{}

	mu      gosync.Mutex
	samples [][]string // per round, per node: the body, "" when it did not answer
}

func sample(ctx context.Context, nodes []*swarmtest.Node, port int) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{nodes: nodes, port: port, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ctx.Err() == nil {
			round := make([]string, len(nodes))
			var wg gosync.WaitGroup
			for i, n := range nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					round[i], _ = n.Get(ctx, port)
				}()
			}
			wg.Wait()
			if ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			s.samples = append(s.samples, round)
			s.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *sampler) stop() [][]string {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}

// allAnswer waits until every node answers want on port.
func allAnswer(t *testing.T, c *swarmtest.Cluster, port int, want string) {
	t.Helper()
	swarmtest.Eventually(t, 2*time.Minute, func() (bool, string, error) {
		var got []string
		for _, n := range c.Nodes {
			body, err := n.Get(t.Context(), port)
			if err != nil {
				body = err.Error()
			}
			got = append(got, n.Name+": "+body)
			if body != want {
				return false, strings.Join(got, ", "), nil
			}
		}
		return true, "", nil
	})
}

// A rolling update with parallelism 1 replaces one node's task at a time:
// every client sample finds at least two of the three nodes answering,
// each node goes from v1 to v2 once and for all, and for a while some
// nodes answer v1 and others v2.
func TestRollingUpdateAcrossNodesKeepsAnswering(t *testing.T) {
	t.Parallel()
	c := workers(t)
	stack := c.Stack(t)
	port := hostPort()
	vars := map[string]string{"TAG": "v1", "PORT": strconv.Itoa(port)}
	mustDeploy(t, c, stack, rollingStack, vars)
	allAnswer(t, c, port, "v1")
	where, err := c.TaskNodes(t.Context(), stack+"_web")
	if err != nil || len(where) != 3 {
		t.Fatalf("web's tasks run on %v (%v), want one on each of the 3 nodes", where, err)
	}

	s := sample(t.Context(), c.Nodes, port)
	vars["TAG"] = "v2"
	stdout, stderr, code := deploy(t, c, stack, rollingStack, vars)
	samples := s.stop()
	if code != 0 {
		t.Fatalf("deploy of v2: status %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	allAnswer(t, c, port, "v2")

	mixed := false
	seenV2 := make([]bool, len(c.Nodes))
	for i, round := range samples {
		answering, versions := 0, map[string]bool{}
		for n, body := range round {
			switch body {
			case "":
				continue
			case "v1":
				if seenV2[n] {
					t.Errorf("sample %d: %s answers v1 again after v2: %v", i, c.Nodes[n].Name, round)
				}
			case "v2":
				seenV2[n] = true
			default:
				t.Errorf("sample %d: %s answers %q", i, c.Nodes[n].Name, body)
			}
			answering++
			versions[body] = true
		}
		if answering < len(c.Nodes)-1 {
			t.Errorf("sample %d: only %d of %d nodes answer %v: more than one task was down at once", i, answering, len(c.Nodes), round)
		}
		mixed = mixed || len(versions) == 2
	}
	if !mixed {
		t.Errorf("in %d samples no moment had v1 and v2 answering side by side: the update was not rolled node by node", len(samples))
	}
	t.Logf("%d samples during the rolling update", len(samples))
}

// A commit whose web tasks crash on one node only (a swarm template picks
// the node) fails there; Flotilla rolls the whole stack back: web on every
// node, and api, whose own update had succeeded.
func TestCrashOnOneNodeRollsTheStackBack(t *testing.T) {
	t.Parallel()
	c := workers(t)
	stack := c.Stack(t)
	port := hostPort()
	vars := map[string]string{"TAG": "v1", "PORT": strconv.Itoa(port)}
	mustDeploy(t, c, stack, rollingStack, vars)
	allAnswer(t, c, port, "v1")

	bad := c.Nodes[2].Name
	vars["TAG"], vars["API_TAG"] = "v2", "v2"
	vars["CRASH"] = fmt.Sprintf(`{{if eq .Node.Hostname "%s"}}1{{else}}0{{end}}`, bad)
	stdout, stderr, code := deploy(t, c, stack, rollingStack, vars)
	if code != 1 || !strings.Contains(stdout, "Rolled back: ") {
		t.Fatalf("deploy of a commit crashing on %s: status %d, want 1 and a rollback\nstdout:\n%s\nstderr:\n%s", bad, code, stdout, stderr)
	}
	if !strings.Contains(stderr, stack+"_web") || !strings.Contains(stderr, "non-zero exit (3)") {
		t.Errorf("the failure does not name web and its tasks' exit\nstderr:\n%s", stderr)
	}
	// The tasks failed on that node and nowhere else.
	tasks, err := swarmtest.Tasks(t.Context(), c.Manager().Client, stack+"_web")
	if err != nil {
		t.Fatal(err)
	}
	failedOn := map[string]int{}
	for _, task := range tasks {
		if task.Status.State == swarm.TaskStateFailed {
			failedOn[c.Node(task.NodeID).Name]++
		}
	}
	if len(failedOn) != 1 || failedOn[bad] == 0 {
		t.Errorf("web's tasks failed on %v, want on %s only", failedOn, bad)
	}
	for _, name := range []string{"web", "api"} {
		svc := service(t, c.Manager(), stack+"_"+name)
		if img := svc.Spec.TaskTemplate.ContainerSpec.Image; img != swarmtest.ImageV1 {
			t.Errorf("%s runs %s after the rollback, want %s", name, img, swarmtest.ImageV1)
		}
	}
	if web := service(t, c.Manager(), stack+"_web"); envOf(&web.Spec, "CRASH") != "0" {
		crash := envOf(&web.Spec, "CRASH")
		t.Errorf("web's CRASH is %q after the rollback, want the old 0", crash)
	}
	allAnswer(t, c, port, "v1")
	swarmtest.WaitRunning(t, c.Manager().Client, stack+"_api", 1, time.Minute)
}
