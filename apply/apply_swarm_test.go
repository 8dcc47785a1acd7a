package apply_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

var testOpts = apply.Options{Monitor: time.Second, ProgressDeadline: 2 * time.Minute, PollInterval: 200 * time.Millisecond}

const webFile = `
services:
  web:
    image: flotilla-test/app:v1
    environment: {GREETING: hello}
    configs: [{source: conf, target: /etc/app.conf}]
    networks: [back]
networks:
  back: {}
configs:
  conf:
    file: ./app.conf
`

func TestDeployFromEmptyThenNoop(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	d.files["app.conf"] = &fstest.MapFile{Data: []byte("level=1")}
	res, err := d.deploy(webFile, nil, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Created, d.stack+"_web") || !slices.Contains(res.Created, d.stack+"_back") {
		t.Errorf("Created = %v, want the service and the network", res.Created)
	}
	swarmtest.WaitRunning(t, d.api, d.stack+"_web", 1, time.Minute)

	before := d.api.writes.Load()
	plan := d.plan(webFile, nil)
	if plan.HasChanges() {
		t.Errorf("second plan of the same file has changes: %+v", plan.Summary())
	}
	if _, err := apply.Run(t.Context(), d.docker, plan, testOpts); err != nil {
		t.Fatal(err)
	}
	if n := d.api.writes.Load() - before; n != 0 {
		t.Errorf("a second deploy of the same file made %d write calls: %v", n, d.api.calls)
	}
}

const rollingFile = `
services:
  api:
    image: ${IMAGE}
    environment:
      PORT: "${BASE}{{.Task.Slot}}"
      COLOR: ${COLOR}
    networks: [hostnet]
    healthcheck: {test: ["CMD", "/app", "healthcheck"], interval: 1s, timeout: 1s, retries: 2}
    deploy:
      replicas: 2
      update_config: {parallelism: 1, order: stop-first, monitor: 2s}
      restart_policy: {delay: 1s}
networks:
  hostnet:
    external: true
    name: host
`

// answering polls both slots' ports until stopped and records every moment
// at which neither answered.
type answering struct {
	stop  chan struct{}
	done  chan struct{}
	mu    gosync.Mutex
	gaps  []string
	polls int
}

func watchAnswering(t *testing.T, ports [2]int) *answering {
	a := &answering{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for {
			select {
			case <-a.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			b1, err1 := swarmtest.Get(t.Context(), ports[0])
			b2, err2 := swarmtest.Get(t.Context(), ports[1])
			a.mu.Lock()
			a.polls++
			if err1 != nil && err2 != nil {
				a.gaps = append(a.gaps, fmt.Sprintf("%s: %v / %v", time.Now().Format("15:04:05.000"), err1, err2))
			}
			_ = b1 + b2
			a.mu.Unlock()
		}
	}()
	return a
}

func (a *answering) finish() (polls int, gaps []string) {
	close(a.stop)
	<-a.done
	return a.polls, a.gaps
}

func TestRollingUpdateKeepsAnswering(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	base, ports := slotPorts(t)
	vars := map[string]string{"IMAGE": swarmtest.ImageV1, "BASE": base, "COLOR": "blue"}
	if _, err := d.deploy(rollingFile, vars, testOpts); err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if body, err := swarmtest.Get(t.Context(), p); body != "v1" {
			t.Fatalf("after the first deploy port %d answers %q, %v", p, body, err)
		}
	}

	w := watchAnswering(t, ports)
	vars["IMAGE"], vars["COLOR"] = swarmtest.ImageV2, "green"
	res, err := d.deploy(rollingFile, vars, testOpts)
	polls, gaps := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Updated, []string{d.stack + "_api"}) {
		t.Errorf("Updated = %v", res.Updated)
	}
	if len(gaps) > 0 {
		t.Errorf("the service stopped answering %d of %d times during the update: %v", len(gaps), polls, gaps)
	}
	if n := d.failedTasks("api"); n != 0 {
		t.Errorf("%d failed tasks during a good rollout", n)
	}
	for _, p := range ports {
		if body, _ := swarmtest.Get(t.Context(), p); body != "v2" {
			t.Errorf("after the update port %d answers %q, want v2", p, body)
		}
	}
	if got := envOf(d.service("api"), "COLOR"); got != "green" {
		t.Errorf("COLOR = %q after the update", got)
	}
	// The swarm-level host network has an ID no list returns: it must
	// still read back as "host", or every plan would show a change.
	if plan := d.plan(rollingFile, vars); plan.HasChanges() {
		var b strings.Builder
		plan.WriteText(&b, diff.TextOptions{})
		t.Errorf("planning the deployed file again shows changes:\n%s", b.String())
	}
}

const threeFile = `
services:
  a:
    image: ${A_IMAGE}
    environment: {PORT: "${BASE}{{.Task.Slot}}"}
    networks: [hostnet]
    deploy: {replicas: 2, update_config: {parallelism: 1, monitor: 1s}, restart_policy: {delay: 1s}}
  b:
    image: ${B_IMAGE}
    environment: {CRASH: "${B_CRASH}"}
    deploy: {update_config: {monitor: 1s}, restart_policy: {delay: 1s}}
  c:
    image: flotilla-test/app:v1
    environment: {LEVEL: "${C_LEVEL}"}
    deploy: {update_config: {monitor: 1s}}
networks:
  hostnet:
    external: true
    name: host
`

const newServiceD = `
  d:
    image: flotilla-test/app:v2
`

func TestFailedServiceRollsBackTheWholeStack(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	base, ports := slotPorts(t)
	good := map[string]string{"A_IMAGE": swarmtest.ImageV1, "B_IMAGE": swarmtest.ImageV1, "B_CRASH": "0", "C_LEVEL": "1", "BASE": base}
	if _, err := d.deploy(threeFile, good, testOpts); err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		before[name] = d.service(name).Spec.Labels[stack.LabelSpecHash]
	}

	bad := map[string]string{"A_IMAGE": swarmtest.ImageV2, "B_IMAGE": swarmtest.ImageV2, "B_CRASH": "1", "C_LEVEL": "2", "BASE": base}
	file := strings.Replace(threeFile, "networks:\n  hostnet:", strings.TrimPrefix(newServiceD, "\n")+"networks:\n  hostnet:", 1)
	w := watchAnswering(t, ports)
	res, err := d.deploy(file, bad, testOpts)
	_, gaps := w.finish()

	var fe *apply.FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("deploy with a crashing service: err = %v, want a FailedError", err)
	}
	if fe.RollbackErr != nil {
		t.Fatalf("rollback failed: %v", fe.RollbackErr)
	}
	if !strings.Contains(err.Error(), d.stack+"_b") || !strings.Contains(err.Error(), "non-zero exit (3)") {
		t.Errorf("error %q does not name service b and its tasks' error", err)
	}
	for _, name := range []string{"a", "b", "c"} {
		s := d.service(name)
		if got := s.Spec.Labels[stack.LabelSpecHash]; got != before[name] {
			t.Errorf("service %s: spec hash %s after rollback, want the previous %s", name, got, before[name])
		}
		if image(s) != swarmtest.ImageV1 {
			t.Errorf("service %s runs %s after rollback", name, image(s))
		}
	}
	if got := envOf(d.service("c"), "LEVEL"); got != "1" {
		t.Errorf("service c LEVEL = %q after rollback, want 1", got)
	}
	if _, _, err := d.api.ServiceInspectWithRaw(t.Context(), d.stack+"_d", swarmSvcOpts); err == nil {
		t.Error("service d, created by the failed deploy, still exists")
	}
	if !slices.Contains(res.RolledBack, d.stack+"_d") {
		t.Errorf("RolledBack = %v, want it to name the removed service d", res.RolledBack)
	}
	for _, p := range ports {
		if body, err := swarmtest.Get(t.Context(), p); body != "v1" {
			t.Errorf("after the rollback port %d answers %q, %v; want the old v1 tasks", p, body, err)
		}
	}
	if len(gaps) > 0 {
		t.Logf("service a was unreachable at %d moments during the failed deploy (expected while its slots rolled): %v", len(gaps), gaps[:min(3, len(gaps))])
	}
}

func TestUnhealthyImageIsCaughtByItsHealthcheck(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	file := `
services:
  api:
    image: flotilla-test/app:v1
    environment: {UNHEALTHY: "${UNHEALTHY}"}
    healthcheck: {test: ["CMD", "/app", "healthcheck"], interval: 1s, timeout: 1s, retries: 1}
    deploy: {update_config: {monitor: 1s}, restart_policy: {delay: 1s}}
`
	if _, err := d.deploy(file, map[string]string{"UNHEALTHY": "0"}, testOpts); err != nil {
		t.Fatal(err)
	}
	_, err := d.deploy(file, map[string]string{"UNHEALTHY": "1"}, testOpts)
	var fe *apply.FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("deploy of an unhealthy image: err = %v, want a FailedError", err)
	}
	if got := envOf(d.service("api"), "UNHEALTHY"); got != "0" {
		t.Errorf("UNHEALTHY = %q after rollback, want 0", got)
	}
	swarmtest.WaitRunning(t, d.api, d.stack+"_api", 1, time.Minute)
}

func TestPruneRemovesDeletedServiceAndItsNetwork(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	file := `
services:
  web:
    image: flotilla-test/app:v1
  worker:
    image: flotilla-test/app:v1
    networks: [jobs]
networks:
  jobs: {}
`
	if _, err := d.deploy(file, nil, testOpts); err != nil {
		t.Fatal(err)
	}
	smaller := "\nservices:\n  web:\n    image: flotilla-test/app:v1\n"
	o := testOpts
	o.Prune = true
	res, err := d.deploy(smaller, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{d.stack + "_worker", d.stack + "_jobs"} {
		if !slices.Contains(res.Removed, want) {
			t.Errorf("Removed = %v, want %s", res.Removed, want)
		}
	}
	if _, _, err := d.api.ServiceInspectWithRaw(t.Context(), d.stack+"_worker", swarmSvcOpts); err == nil {
		t.Error("pruned service worker still exists")
	}
	nets, err := d.api.NetworkList(t.Context(), network.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if n.Name == d.stack+"_jobs" {
			t.Error("network jobs, no longer used, was not pruned")
		}
	}
	if plan := d.plan(smaller, nil); plan.HasChanges() {
		t.Errorf("after prune the plan still has changes: %+v", plan.Summary())
	}
}
