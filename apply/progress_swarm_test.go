package apply_test

import (
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// recorder keeps every status a deploy reported.
type recorder struct {
	mu   gosync.Mutex
	seen []apply.Status
}

func (r *recorder) progress(st []apply.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, st...)
}

func (r *recorder) any(match func(apply.Status) bool) (apply.Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.seen {
		if match(st) {
			return st, true
		}
	}
	return apply.Status{}, false
}

// During a rolling update the count is of tasks on the new spec: the old
// tasks still running are not progress.
func TestProgressCountsOnlyNewTasksInARollingUpdate(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	file := `
services:
  api:
    image: ${IMAGE}
    deploy:
      replicas: 2
      update_config: {parallelism: 1, delay: 3s, order: stop-first, monitor: 1s}
`
	if _, err := d.deploy(file, map[string]string{"IMAGE": swarmtest.ImageV1}, testOpts); err != nil {
		t.Fatal(err)
	}
	// Each status is checked against the tasks read right after it: a
	// count can only have grown since.
	var (
		checked, partial int
		over             []string
	)
	o := testOpts
	o.Progress = func(statuses []apply.Status) {
		st := statuses[0]
		tasks, err := swarmtest.Tasks(t.Context(), d.api, d.stack+"_api")
		if err != nil {
			t.Error(err)
			return
		}
		running := 0
		for _, task := range tasks {
			if task.Status.State == swarm.TaskStateRunning && task.DesiredState == swarm.TaskStateRunning &&
				task.Spec.ContainerSpec.Image == swarmtest.ImageV2 {
				running++
			}
		}
		checked++
		if st.Running > running {
			over = append(over, fmt.Sprintf("%q with %d new tasks running", st.String(), running))
		}
		if st.Running > 0 && st.Running < st.Desired {
			partial++
		}
	}
	if _, err := d.deploy(file, map[string]string{"IMAGE": swarmtest.ImageV2}, o); err != nil {
		t.Fatal(err)
	}
	if len(over) > 0 {
		t.Errorf("progress counted tasks of the old spec (%d of %d polls): %s", len(over), checked, strings.Join(over, "; "))
	}
	if partial == 0 {
		t.Errorf("no poll of %d showed 1/2 during an update with a 3s delay between the tasks", checked)
	}
}

// A service whose host port another service holds waits in pending with
// the scheduler's reason: progress shows it, and the deploy fails once the
// task waited the limit, not at the progress deadline.
func TestHostPortConflictFailsWithTheSchedulersReason(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	port := swarmtest.FreePort(t)
	holder := fmt.Sprintf(`
services:
  holder:
    image: flotilla-test/app:v1
    environment: {PORT: "8080"}
    ports: [{target: 8080, published: %d, mode: host}]
`, port)
	if _, err := d.deploy(holder, nil, testOpts); err != nil {
		t.Fatal(err)
	}
	both := holder + fmt.Sprintf(`
  web:
    image: flotilla-test/app:v1
    ports: [{target: 8080, published: %d, mode: host}]
`, port)
	var rec recorder
	o := testOpts
	o.Unschedulable = 3 * time.Second
	o.Progress = rec.progress
	start := time.Now()
	res, err := d.deploy(both, nil, o)
	took := time.Since(start)
	var fe *apply.FailedError
	if !errors.As(err, &fe) || fe.Kind != apply.FailureRolledBack {
		t.Fatalf("err = %v, want a rolled-back FailedError", err)
	}
	const reason = "host-mode port already in use"
	if !strings.Contains(err.Error(), reason) || !strings.Contains(err.Error(), d.stack+"_web") {
		t.Errorf("error %q does not name web and the scheduler's reason", err)
	}
	if took > time.Minute {
		t.Errorf("the deploy failed after %s; the limit was 3s", took)
	}
	if _, ok := rec.any(func(st apply.Status) bool {
		return st.Phase == apply.PhaseUpdating && strings.Contains(st.Waiting, reason)
	}); !ok {
		t.Errorf("progress never showed the scheduler's reason while waiting: %v", rec.seen)
	}
	if _, ok := rec.any(func(st apply.Status) bool {
		return st.Rollback && st.Phase == apply.PhaseRemoved && st.Service == d.stack+"_web"
	}); !ok {
		t.Errorf("progress never showed web removed by the rollback: %v", rec.seen)
	}
	if len(res.RolledBack) == 0 {
		t.Errorf("nothing rolled back: %+v", res)
	}
}

// The last line a crashed task logged shows in progress (the engine keeps
// the logs of a FROM-scratch container like any other's).
func TestProgressShowsACrashedTasksLastLogLine(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	file := `
services:
  api:
    image: flotilla-test/app:v1
    environment: {CRASH: "1"}
    deploy: {restart_policy: {delay: 1s}}
`
	var rec recorder
	o := testOpts
	o.Progress = rec.progress
	_, err := d.deploy(file, nil, o)
	if err == nil {
		t.Fatal("a crashing service converged")
	}
	st, ok := rec.any(func(st apply.Status) bool { return st.LastLog != "" })
	if !ok || st.LastLog != "app: CRASH=1, exiting" {
		t.Errorf("last log line %q, want the app's message (statuses: %v)", st.LastLog, rec.seen)
	}
	if strings.Contains(err.Error(), "CRASH=1, exiting") {
		t.Errorf("a log line is in the error: %v", err)
	}
}
