package apply

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/stack"
)

// healthFixture is what the engine returned for one service and its tasks
// (API 1.41, raw: no inserted defaults), and when.
type healthFixture struct {
	Now      time.Time       `json:"now"`
	Services []swarm.Service `json:"services"`
	Tasks    []swarm.Task    `json:"tasks"`
}

func loadHealthFixture(t *testing.T, name string) healthFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "health", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f healthFixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// The fixtures were captured from services created on the engine with the
// docker CLI or the API, then read back with the raw API.
func TestAssessRealTasks(t *testing.T) {
	tests := []struct {
		fixture string
		state   HealthState
		running uint64
		desired uint64
		reason  string
	}{
		// 2 replicas with a healthcheck, both running.
		{"healthy", Healthy, 2, 2, ""},
		{"zero", Healthy, 0, 0, ""},
		// CRASH=1: exit 3 at start, restart delay 1s.
		{"crash", Degraded, 0, 1, "hcfix_crash: task exited with code 3 (4 failures in 6s)"},
		// The same, a moment after the first crash: its replacement waits
		// out a restart delay of 20s.
		{"crashearly", Progressing, 0, 1, "hcfix_crashearly: 0/1 running (last task exited with code 3)"},
		// UNHEALTHY=1: the healthcheck fails, Swarm kills the task.
		{"unhealthy", Degraded, 0, 2, "hcfix_unhealthy: healthcheck failing: container unhealthy (8 failures in 16s)"},
		// START_DELAY=10m: the healthcheck has not passed yet.
		{"starting", Progressing, 0, 1, "hcfix_starting: 0/1 running (waiting for the healthcheck)"},
		{"noimage", Degraded, 0, 1, "hcfix_noimage: task rejected: No such image: flotilla-test/nope:v1 (5 failures in 4s)"},
		// A placement constraint no node satisfies.
		{"noplace", Degraded, 0, 1, "hcfix_noplace: task pending for 1m: no suitable node (scheduling constraints not satisfied on 1 node)"},
		// restart_policy condition none: the crashed task is not replaced.
		{"gaveup", Degraded, 0, 1, "hcfix_gaveup: task exited with code 3; not restarted (restart policy)"},
		// update to CRASH=1 with failure_action pause.
		{"paused", Degraded, 0, 1, "hcfix_paused: update paused: task exited with code 3"},
		// update to CRASH=1 with failure_action rollback: the old spec
		// runs again, but Git's spec did not take.
		{"rolledback", Degraded, 1, 1, "hcfix_rolledback: Swarm rolled a failed update back: task exited with code 3"},
		// a rolling update with a delay of 60s between the two tasks.
		{"updating", Progressing, 2, 2, "hcfix_updating: updating: 2/2 running on the new spec"},
		// replicated-job of 2 completions, done.
		{"jobdone", Healthy, 2, 2, ""},
		// replicated-job whose command exits 2, retried.
		{"jobfail", Degraded, 0, 1, "hcfix_jobfail: task exited with code 2 (7 failures in 15s)"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			f := loadHealthFixture(t, tt.fixture)
			got := Assess(f.Services, f.Tasks, f.Now)
			if len(got.Services) != 1 {
				t.Fatalf("Assess returned %d services, want 1", len(got.Services))
			}
			sh := got.Services[0]
			if sh.State != tt.state || sh.Reason != tt.reason || sh.Running != tt.running || sh.Desired != tt.desired {
				t.Errorf("Assess(%s) = %s %d/%d %q\nwant %s %d/%d %q", tt.fixture, sh.State, sh.Running, sh.Desired, sh.Reason,
					tt.state, tt.running, tt.desired, tt.reason)
			}
			if got.State != sh.State || got.Reason != sh.Reason {
				t.Errorf("stack = %s %q, want its only service's %s %q", got.State, got.Reason, sh.State, sh.Reason)
			}
			if want := f.Services[0].Spec.TaskTemplate.ContainerSpec.Image; sh.Image != want || want == "" {
				t.Errorf("image = %q, want the spec's %q", sh.Image, want)
			}
		})
	}
}

// failedCopy is a copy of task t that failed with exit code 3 at when.
func failedCopy(t swarm.Task, id string, when time.Time) swarm.Task {
	t.ID = id
	t.CreatedAt = when.Add(-2 * time.Second)
	t.DesiredState = swarm.TaskStateShutdown
	t.Status = swarm.TaskStatus{Timestamp: when, State: swarm.TaskStateFailed, Message: "started",
		Err: "task: non-zero exit (3)", ContainerStatus: &swarm.ContainerStatus{ExitCode: 3}}
	return t
}

func TestAssessRules(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		change  func(f *healthFixture)
		state   HealthState
		reason  string
	}{
		{
			name: "failures older than the window are history", fixture: "crash",
			change: func(f *healthFixture) { f.Now = f.Now.Add(healthWindow + time.Minute) },
			state:  Progressing, reason: "hcfix_crash: 0/1 running",
		},
		{
			name: "two failures while every task runs: the restart policy did its job", fixture: "healthy",
			change: func(f *healthFixture) {
				for i, when := range []time.Duration{30 * time.Second, 90 * time.Second} {
					f.Tasks = append(f.Tasks, failedCopy(f.Tasks[0], "old"+string(rune('a'+i)), f.Now.Add(-when)))
				}
			},
			state: Healthy,
		},
		{
			name: "three failures in the window while every task runs: flapping", fixture: "healthy",
			change: func(f *healthFixture) {
				for i, when := range []time.Duration{20 * time.Second, 80 * time.Second, 140 * time.Second} {
					f.Tasks = append(f.Tasks, failedCopy(f.Tasks[0], "old"+string(rune('a'+i)), f.Now.Add(-when)))
				}
			},
			state: Degraded, reason: "hcfix_healthy: task exited with code 3 (3 failures in 2m)",
		},
		{
			name: "failures of a previous spec do not count", fixture: "healthy",
			change: func(f *healthFixture) {
				for i := range 4 {
					old := failedCopy(f.Tasks[0], "prev"+string(rune('a'+i)), f.Now.Add(-time.Duration(i+1)*time.Second))
					old.Spec.ContainerSpec = &swarm.ContainerSpec{Image: "flotilla-test/app:v2", Env: []string{"CRASH=1"}}
					f.Tasks = append(f.Tasks, old)
				}
			},
			state: Healthy,
		},
		{
			name: "a task of the previous spec still running", fixture: "healthy",
			change: func(f *healthFixture) {
				old := f.Tasks[0]
				old.ID = "previous"
				old.Spec.ContainerSpec = &swarm.ContainerSpec{Image: "flotilla-test/app:v2"}
				old.DesiredState = swarm.TaskStateShutdown
				f.Tasks = append(f.Tasks, old)
			},
			state: Progressing, reason: "hcfix_healthy: tasks of the previous spec still shutting down",
		},
		{
			name: "Swarm rolling a failed update back", fixture: "paused",
			change: func(f *healthFixture) {
				f.Services[0].UpdateStatus.State = swarm.UpdateStateRollbackStarted
			},
			state: Degraded, reason: "hcfix_paused: update failed; Swarm is rolling it back: task exited with code 3",
		},
		{
			name: "an update whose tasks keep failing (failure_action continue)", fixture: "paused",
			change: func(f *healthFixture) {
				f.Services[0].UpdateStatus.State = swarm.UpdateStateUpdating
			},
			state: Degraded, reason: "hcfix_paused: task exited with code 3 (4 failures in 6s)",
		},
		{
			name: "global service: Swarm says how many tasks it wants", fixture: "healthy",
			change: func(f *healthFixture) {
				f.Services[0].Spec.Mode = swarm.ServiceMode{Global: &swarm.GlobalService{}}
				f.Services[0].ServiceStatus.DesiredTasks = 3
			},
			state: Progressing, reason: "hcfix_healthy: 2/3 running",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadHealthFixture(t, tt.fixture)
			tt.change(&f)
			got := Assess(f.Services, f.Tasks, f.Now)
			if got.State != tt.state || got.Reason != tt.reason {
				t.Errorf("Assess = %s %q\nwant %s %q", got.State, got.Reason, tt.state, tt.reason)
			}
		})
	}
}

func TestAssessStackIsItsWorstService(t *testing.T) {
	var all healthFixture
	for _, name := range []string{"starting", "healthy", "crash", "noimage"} {
		f := loadHealthFixture(t, name)
		all.Services = append(all.Services, f.Services...)
		all.Tasks = append(all.Tasks, f.Tasks...)
		all.Now = f.Now
	}
	got := Assess(all.Services, all.Tasks, all.Now)
	var names []string
	states := map[string]HealthState{}
	for _, s := range got.Services {
		names = append(names, s.Name)
		states[s.Name] = s.State
	}
	if d := cmp.Diff([]string{"hcfix_crash", "hcfix_healthy", "hcfix_noimage", "hcfix_starting"}, names); d != "" {
		t.Errorf("services not sorted by name (-want +got):\n%s", d)
	}
	if got.State != Degraded {
		t.Errorf("stack state = %s, want degraded", got.State)
	}
	// Only the degraded services explain a degraded stack.
	for _, s := range got.Services {
		if s.State == Degraded && !strings.Contains(got.Reason, s.Reason) {
			t.Errorf("stack reason %q lacks %q", got.Reason, s.Reason)
		}
	}
	if strings.Contains(got.Reason, "hcfix_starting") || states["hcfix_starting"] != Progressing {
		t.Errorf("stack reason %q should leave out the progressing service (state %s)", got.Reason, states["hcfix_starting"])
	}

	progressing := Assess(all.Services[:2], all.Tasks, all.Now)
	if progressing.State != Progressing || progressing.Reason != "hcfix_starting: 0/1 running (waiting for the healthcheck)" {
		t.Errorf("healthy + starting = %s %q, want progressing with the starting service's reason", progressing.State, progressing.Reason)
	}
	if empty := Assess(nil, nil, all.Now); empty.State != Healthy || empty.Reason != "" {
		t.Errorf("no services = %s %q, want healthy", empty.State, empty.Reason)
	}
}

// The image shown is the one the stack file asked for, not the digest the
// engine was told to pin.
func TestAssessShowsTheRequestedImage(t *testing.T) {
	f := loadHealthFixture(t, "healthy")
	svc := f.Services[0]
	svc.Spec.Labels = map[string]string{stack.LabelImage: "registry.example/app:v1"}
	svc.Spec.TaskTemplate.ContainerSpec.Image = "registry.example/app:v1@sha256:" + strings.Repeat("ab", 32)
	got := Assess([]swarm.Service{svc}, f.Tasks, f.Now)
	if img := got.Services[0].Image; img != "registry.example/app:v1" {
		t.Errorf("image = %q, want the stack file's registry.example/app:v1", img)
	}
}
