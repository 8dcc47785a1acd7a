package apply

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/diff"
)

// sinceUpdate is when the fixture's last update started, as a deploy that
// sent it would have noted.
func sinceUpdate(t *testing.T, f healthFixture) time.Time {
	t.Helper()
	svc := f.Services[0]
	if us := svc.UpdateStatus; us != nil && us.StartedAt != nil {
		return *us.StartedAt
	}
	return svc.CreatedAt
}

// TestJudgeRealTasks judges services the engine reported (the fixtures of
// Assess): what progress shows for each.
func TestJudgeRealTasks(t *testing.T) {
	tests := []struct {
		fixture string
		want    string // Status.String()
		// unschedulable and crashed are what the watch loop follows up.
		unschedulable, crashed bool
	}{
		{fixture: "noplace", unschedulable: true,
			want: "hcfix_noplace  0/1 running  updating: a task pending: no suitable node (scheduling constraints not satisfied on 1 node)"},
		{fixture: "crash", crashed: true, want: "hcfix_crash  0/1 running  failed: 4 tasks failed (task: non-zero exit (3))"},
		{fixture: "starting", want: "hcfix_starting  0/1 running  updating: waiting for the healthcheck"},
		// A failed update keeps its counts: no "0/0".
		{fixture: "paused", crashed: true,
			want: "hcfix_paused  0/1 running  failed: update paused (task: non-zero exit (3))"},
		{fixture: "updating", want: "hcfix_updating  2/2 running  updating"},
		{fixture: "healthy", want: "hcfix_healthy  2/2 running  stabilising"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			f := loadHealthFixture(t, tt.fixture)
			v := judge(f.Services[0], f.Tasks, sinceUpdate(t, f), 3)
			v.Service = f.Services[0].Spec.Name
			if got := v.String(); got != tt.want {
				t.Errorf("status\n got %s\nwant %s", got, tt.want)
			}
			if (v.unschedulable != "") != tt.unschedulable || (v.crashed != "") != tt.crashed {
				t.Errorf("unschedulable %q, crashed %q; want %v, %v", v.unschedulable, v.crashed, tt.unschedulable, tt.crashed)
			}
		})
	}
}

// TestJudgeCountsOnlyTheNewSpec: at the start of a rolling update both
// old tasks still run; they are not progress.
func TestJudgeCountsOnlyTheNewSpec(t *testing.T) {
	f := loadHealthFixture(t, "updating")
	svc := f.Services[0]
	since := sinceUpdate(t, f)
	var tasks []swarm.Task
	for _, task := range f.Tasks {
		if task.CreatedAt.Before(since) {
			// The old tasks, before the updater stopped them.
			task.DesiredState, task.Status.State = swarm.TaskStateRunning, swarm.TaskStateRunning
			tasks = append(tasks, task)
		}
	}
	v := judge(svc, tasks, since, 3)
	if v.Running != 0 || v.Desired != 2 || v.Phase != PhaseUpdating {
		t.Errorf("with only old tasks running: %d/%d %s, want 0/2 updating", v.Running, v.Desired, v.Phase)
	}
	// One new task runs, one old is still up.
	for _, task := range f.Tasks {
		if !task.CreatedAt.Before(since) && task.Slot == 2 {
			tasks = append(tasks[1:], task)
		}
	}
	v = judge(svc, tasks, since, 3)
	if v.Running != 1 || v.Desired != 2 {
		t.Errorf("one new task running: %d/%d, want 1/2", v.Running, v.Desired)
	}
}

func TestStatusLabelsARollback(t *testing.T) {
	tests := []struct {
		st   Status
		want string
	}{
		{Status{Service: "shop_api", Phase: PhaseUpdating, Running: 0, Desired: 2, Rollback: true}, "shop_api  0/2 running  rolling back"},
		{Status{Service: "shop_api", Phase: PhaseConverged, Running: 2, Desired: 2, Rollback: true}, "shop_api  2/2 running  rolled back"},
		{Status{Service: "shop_api", Phase: PhaseFailed, Running: 0, Desired: 2, Rollback: true, Reason: "3 tasks failed"},
			"shop_api  0/2 running  rollback failed: 3 tasks failed"},
		{Status{Service: "shop_worker", Phase: PhaseRemoved, Rollback: true}, "shop_worker  removed (rollback)"},
		{Status{Service: "shop_api", Phase: PhaseFailed, Reason: "service disappeared"}, "shop_api  failed: service disappeared"},
		{Status{Service: "shop_api", Phase: PhaseUpdating, Desired: 1, Waiting: "last task exited with code 3", LastLog: "panic: no config"},
			"shop_api  0/1 running  updating: last task exited with code 3; its last log line: panic: no config"},
		{Status{Service: "shop_db", Phase: PhaseConverged}, "shop_db  0/0 running  converged"},
	}
	for _, tt := range tests {
		if got := tt.st.String(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

// A task no node can take fails its service once it waited the limit,
// with the scheduler's reason, instead of running out the deadline.
func TestUnschedulableTaskFailsTheService(t *testing.T) {
	f := newFake()
	const reason = "no suitable node (host-mode port already in use on 1 node)"
	f.unplaced = func(s swarm.ServiceSpec) string {
		if s.TaskTemplate.ContainerSpec.Image == "app:v2" {
			return reason
		}
		return ""
	}
	api := existing(f, "shop_api", "app:v1", "app:v2", 0)
	o := fast
	o.Unschedulable = 100 * time.Millisecond
	var seen []Status
	o.Progress = func(st []Status) { seen = append(seen, st...) }
	start := time.Now()
	_, err := Run(t.Context(), f, diff.Plan{Stack: "shop", Changes: []diff.Change{api}}, o)
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Kind != FailureRolledBack {
		t.Fatalf("err = %v, want a rolled-back FailedError", err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q lacks the scheduler's reason", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failed after %s; the limit was 100ms", d)
	}
	var pending, rolledBack bool
	for _, st := range seen {
		pending = pending || (st.Phase == PhaseUpdating && strings.Contains(st.Waiting, reason))
		rolledBack = rolledBack || (st.Rollback && st.Phase == PhaseConverged)
	}
	if !pending || !rolledBack {
		t.Errorf("progress showed the pending reason: %v, the rollback as such: %v", pending, rolledBack)
	}
}

// A crashed task's last log line is read once per task, for progress only.
func TestCrashedTaskLastLogLine(t *testing.T) {
	f := loggingFake{newFake()}
	f.logs = "panic: open /etc/app.conf: \x1b[31mno such file\x1b[0m"
	f.crash = func(s swarm.ServiceSpec) bool { return s.TaskTemplate.ContainerSpec.Image == "app:crash" }
	web := existing(f.fakeCluster, "shop_web", "app:v1", "app:crash", 0)
	o := fast
	o.FailureThreshold = 100 // keep watching past the first failures
	o.ProgressDeadline = 100 * time.Millisecond
	var last Status
	polls := 0
	o.Progress = func(st []Status) {
		if !st[0].Rollback {
			last, polls = st[0], polls+1
		}
	}
	_, err := Run(t.Context(), f, diff.Plan{Stack: "shop", Changes: []diff.Change{web}}, o)
	if err == nil {
		t.Fatal("a crashing service converged")
	}
	if want := "panic: open /etc/app.conf:  [31mno such file [0m"; last.LastLog != want {
		t.Errorf("last log line %q, want %q (escapes made harmless)", last.LastLog, want)
	}
	if strings.Contains(err.Error(), "panic") {
		t.Errorf("the log line leaked into the error: %v", err)
	}
	if f.logReads == 0 || f.logReads >= polls {
		t.Errorf("%d log reads in %d polls: want one per crashed task", f.logReads, polls)
	}
}
