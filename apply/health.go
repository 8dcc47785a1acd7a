package apply

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// HealthState is how a service or a whole stack is doing, judged from Swarm
// alone: the spec matching Git says nothing about it.
type HealthState string

const (
	Healthy HealthState = "healthy"
	// Progressing: tasks are starting or an update is rolling; no evidence
	// of failure yet.
	Progressing HealthState = "progressing"
	// Degraded: an update paused or was rolled back by Swarm, tasks keep
	// failing, or the orchestrator gave up on them.
	Degraded HealthState = "degraded"
)

func (s HealthState) rank() int {
	switch s {
	case Degraded:
		return 2
	case Progressing:
		return 1
	}
	return 0
}

// ServiceHealth is one service's health and why.
type ServiceHealth struct {
	Name  string
	State HealthState
	// Image is the image the stack file asked for (docker stack deploy's
	// com.docker.stack.image label), else the spec's, which may carry a
	// pinned digest.
	Image string
	// Running and Desired count the tasks running on the current spec and
	// the tasks wanted; for jobs, the tasks completed and the completions
	// wanted.
	Running, Desired uint64
	Job              bool
	// UpdateState is Swarm's update state ("updating", "paused", …), or ""
	// when the service was never updated.
	UpdateState string
	// Reason names the service and what is wrong, e.g. "shop_api: task
	// exited with code 3 (3 failures in 2m)"; empty when healthy.
	Reason string
}

// StackHealth is the health of a stack's services: the worst of them.
type StackHealth struct {
	State    HealthState
	Services []ServiceHealth // sorted by name
	// Reason joins the reasons of the degraded services, or of the
	// progressing ones when none is degraded; empty when healthy.
	Reason string
}

// The rules' thresholds. A service is not degraded by one crash: a task
// that failed once and came back is what restart policies are for.
const (
	// healthWindow: failures older than this are history.
	healthWindow = 5 * time.Minute
	// crashLoopFailures failed tasks in the window while fewer tasks run
	// than wanted: a crash loop.
	crashLoopFailures = 2
	// flappingFailures failed tasks in the window even though every task
	// runs right now: the service keeps restarting.
	flappingFailures = 3
	// unschedulableAfter: a task pending this long with a scheduler error
	// ("no suitable node") will not be placed by waiting.
	unschedulableAfter = time.Minute
	// notRestartedAfter: Swarm creates a failed task's replacement at once
	// (it waits out the restart delay in "ready"); a slot still empty this
	// long after a failure was given up by the restart policy.
	notRestartedAfter = 10 * time.Second
)

// Assess judges each service's health from its spec, update status and
// tasks (all of them, any service: each service takes its own), as seen at
// now. It reads nothing: the caller lists services and tasks (see
// cluster.Docker.StackTasks).
func Assess(services []swarm.Service, tasks []swarm.Task, now time.Time) StackHealth {
	byService := map[string][]swarm.Task{}
	for _, t := range tasks {
		byService[t.ServiceID] = append(byService[t.ServiceID], t)
	}
	h := StackHealth{State: Healthy}
	for _, svc := range services {
		sh := assessService(svc, byService[svc.ID], now)
		h.Services = append(h.Services, sh)
		if sh.State.rank() > h.State.rank() {
			h.State = sh.State
		}
	}
	sort.Slice(h.Services, func(i, j int) bool { return h.Services[i].Name < h.Services[j].Name })
	var reasons []string
	for _, sh := range h.Services {
		if sh.State == h.State && sh.Reason != "" {
			reasons = append(reasons, sh.Reason)
		}
	}
	h.Reason = strings.Join(reasons, "; ")
	return h
}

func assessService(svc swarm.Service, tasks []swarm.Task, now time.Time) ServiceHealth {
	h := ServiceHealth{Name: svc.Spec.Name, State: Healthy, Image: imageOf(svc)}
	set := func(state HealthState, format string, args ...any) ServiceHealth {
		h.State = state
		h.Reason = h.Name + ": " + fmt.Sprintf(format, args...)
		return h
	}
	cur := currentTasks(svc, tasks)
	failed := recentFailures(cur, now)
	h.Job = svc.Spec.Mode.ReplicatedJob != nil || svc.Spec.Mode.GlobalJob != nil
	if h.Job {
		h.Running, h.Desired = jobCompletions(svc, cur)
	} else {
		h.Running, h.Desired = replicaCounts(svc, cur)
	}

	if us := svc.UpdateStatus; us != nil {
		h.UpdateState = string(us.State)
		switch us.State {
		case swarm.UpdateStatePaused:
			return set(Degraded, "update paused%s", updateCause(us, tasks))
		case swarm.UpdateStateRollbackStarted:
			return set(Degraded, "update failed; Swarm is rolling it back%s", updateCause(us, tasks))
		case swarm.UpdateStateRollbackPaused:
			return set(Degraded, "Swarm's rollback of a failed update paused%s", updateCause(us, tasks))
		case swarm.UpdateStateRollbackCompleted:
			return set(Degraded, "Swarm rolled a failed update back%s", updateCause(us, tasks))
		case swarm.UpdateStateUpdating:
			if len(failed) >= crashLoopFailures {
				return set(Degraded, "%s", failures(failed, now))
			}
			return set(Progressing, "updating: %d/%d running on the new spec", h.Running, h.Desired)
		}
	}

	if h.Job {
		switch {
		case h.Running >= h.Desired:
			return h
		case len(failed) >= crashLoopFailures:
			return set(Degraded, "%s", failures(failed, now))
		case givenUp(cur, h.Desired-h.Running, now):
			return set(Degraded, "%s; not restarted (restart policy)", describeTask(newestFailure(cur)))
		}
		return set(Progressing, "%d/%d completed", h.Running, h.Desired)
	}

	if h.Desired == 0 {
		return h
	}
	if len(failed) >= flappingFailures {
		return set(Degraded, "%s", failures(failed, now))
	}
	if h.Running < h.Desired {
		if len(failed) >= crashLoopFailures {
			return set(Degraded, "%s", failures(failed, now))
		}
		if givenUp(cur, h.Desired, now) {
			return set(Degraded, "%s; not restarted (restart policy)", describeTask(newestFailure(cur)))
		}
		if t, ok := unschedulable(cur, now); ok {
			return set(Degraded, "task pending for %s: %s", span(now.Sub(t.CreatedAt)), t.Status.Err)
		}
		return set(Progressing, "%d/%d running%s", h.Running, h.Desired, startingDetail(svc, cur, failed))
	}
	for _, t := range tasks {
		if t.DesiredState == swarm.TaskStateShutdown && t.Status.State == swarm.TaskStateRunning {
			return set(Progressing, "tasks of the previous spec still shutting down")
		}
	}
	return h
}

// currentTasks keeps the tasks created from the service's current spec: a
// task carries a copy of the task template it was made from (without the
// Runtime the engine reports for services), and a job's task its iteration.
func currentTasks(svc swarm.Service, tasks []swarm.Task) []swarm.Task {
	want := taskSpecKey(svc.Spec.TaskTemplate)
	var out []swarm.Task
	for _, t := range tasks {
		if taskSpecKey(t.Spec) != want {
			continue
		}
		if js := svc.JobStatus; js != nil && t.JobIteration != nil && t.JobIteration.Index != js.JobIteration.Index {
			continue
		}
		out = append(out, t)
	}
	return out
}

func taskSpecKey(spec swarm.TaskSpec) string {
	spec.Runtime = ""
	b, err := json.Marshal(spec)
	if err != nil {
		return ""
	}
	return string(b)
}

// recentFailures are the failed and rejected tasks of the window, newest first.
func recentFailures(tasks []swarm.Task, now time.Time) []swarm.Task {
	var out []swarm.Task
	for _, t := range tasks {
		if isFailure(t) && now.Sub(t.Status.Timestamp) <= healthWindow {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Status.Timestamp.After(out[j].Status.Timestamp) })
	return out
}

func isFailure(t swarm.Task) bool {
	return t.Status.State == swarm.TaskStateFailed || t.Status.State == swarm.TaskStateRejected
}

func newestFailure(tasks []swarm.Task) swarm.Task {
	var newest swarm.Task
	for _, t := range tasks {
		if isFailure(t) && t.Status.Timestamp.After(newest.Status.Timestamp) {
			newest = t
		}
	}
	return newest
}

// live reports a task that runs or is on its way to: not finished, and
// still wanted by the orchestrator.
func live(t swarm.Task) bool {
	switch t.Status.State {
	case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed, swarm.TaskStateRejected,
		swarm.TaskStateRemove, swarm.TaskStateOrphaned:
		return false
	}
	return t.DesiredState != swarm.TaskStateShutdown && t.DesiredState != swarm.TaskStateRemove
}

// givenUp reports fewer live tasks than wanted, well after the last failure:
// the restart policy (condition none, max attempts) let the slot go.
func givenUp(tasks []swarm.Task, wanted uint64, now time.Time) bool {
	var alive uint64
	for _, t := range tasks {
		if live(t) {
			alive++
		}
	}
	last := newestFailure(tasks)
	return alive < wanted && !last.Status.Timestamp.IsZero() && now.Sub(last.Status.Timestamp) > notRestartedAfter
}

func unschedulable(tasks []swarm.Task, now time.Time) (swarm.Task, bool) {
	for _, t := range tasks {
		if t.Status.State == swarm.TaskStatePending && t.Status.Err != "" && now.Sub(t.CreatedAt) > unschedulableAfter {
			return t, true
		}
	}
	return swarm.Task{}, false
}

func replicaCounts(svc swarm.Service, cur []swarm.Task) (running, desired uint64) {
	nodes := map[string]bool{}
	for _, t := range cur {
		if t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateRunning {
			running++
		}
		if live(t) {
			nodes[t.NodeID] = true
		}
	}
	switch m := svc.Spec.Mode; {
	case m.Replicated != nil && m.Replicated.Replicas != nil:
		desired = *m.Replicated.Replicas
	case m.Global != nil && svc.ServiceStatus != nil:
		desired = svc.ServiceStatus.DesiredTasks
	case m.Global != nil:
		// Without the list's status, the orchestrator says how many by
		// creating one task per eligible node.
		desired = uint64(max(len(nodes), 1))
	default:
		desired = 1
	}
	return running, desired
}

func jobCompletions(svc swarm.Service, cur []swarm.Task) (completed, wanted uint64) {
	nodes := map[string]bool{}
	for _, t := range cur {
		if t.Status.State == swarm.TaskStateComplete {
			completed++
		}
		nodes[t.NodeID] = true
	}
	switch m := svc.Spec.Mode; {
	case m.ReplicatedJob != nil:
		wanted = 1
		if m.ReplicatedJob.MaxConcurrent != nil {
			wanted = *m.ReplicatedJob.MaxConcurrent
		}
		if m.ReplicatedJob.TotalCompletions != nil {
			wanted = *m.ReplicatedJob.TotalCompletions
		}
	default:
		wanted = uint64(max(len(nodes), 1))
	}
	return completed, wanted
}

// updateCause names the newest task failure since a failed update began,
// whatever its spec: after Swarm's rollback the failing tasks belong to the
// spec it rolled back from.
func updateCause(us *swarm.UpdateStatus, tasks []swarm.Task) string {
	var since time.Time
	if us.StartedAt != nil {
		since = *us.StartedAt
	}
	var newest *swarm.Task
	for i, t := range tasks {
		if isFailure(t) && !t.CreatedAt.Before(since) && (newest == nil || t.Status.Timestamp.After(newest.Status.Timestamp)) {
			newest = &tasks[i]
		}
	}
	if newest == nil {
		if us.Message != "" {
			return ": " + us.Message
		}
		return ""
	}
	return ": " + describeTask(*newest)
}

// failures says what the newest failure was and how many there were.
func failures(failed []swarm.Task, now time.Time) string {
	n := len(failed)
	return fmt.Sprintf("%s (%d failures in %s)", describeTask(failed[0]), n, span(now.Sub(failed[n-1].Status.Timestamp)))
}

// startingDetail says what a progressing service waits for.
func startingDetail(svc swarm.Service, cur, failed []swarm.Task) string {
	if len(failed) > 0 {
		return " (last " + describeTask(failed[0]) + ")"
	}
	cs := svc.Spec.TaskTemplate.ContainerSpec
	checked := cs != nil && cs.Healthcheck != nil && !slices.Equal(cs.Healthcheck.Test, []string{"NONE"})
	for _, t := range cur {
		if t.Status.State == swarm.TaskStateStarting && checked {
			return " (waiting for the healthcheck)"
		}
	}
	return ""
}

// describeTask says how a task failed, from what the engine recorded.
func describeTask(t swarm.Task) string {
	code := 0
	if cs := t.Status.ContainerStatus; cs != nil {
		code = cs.ExitCode
	}
	msg := t.Status.Err
	switch {
	case strings.Contains(msg, "unhealthy container"):
		return "healthcheck failing: container unhealthy"
	case t.Status.State == swarm.TaskStateFailed && code != 0:
		s := fmt.Sprintf("task exited with code %d", code)
		rest := strings.TrimPrefix(strings.TrimPrefix(msg, fmt.Sprintf("task: non-zero exit (%d)", code)), ": ")
		if rest != "" {
			s += ": " + rest
		}
		return s
	case msg != "":
		return fmt.Sprintf("task %s: %s", t.Status.State, msg)
	}
	return "task " + string(t.Status.State)
}

// span prints a duration as people say it: "40s", "3m".
func span(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", max(int(d.Round(time.Second).Seconds()), 1))
	}
	return fmt.Sprintf("%dm", int(d.Round(time.Minute).Minutes()))
}

// imageOf is the image a service runs, as its stack file wrote it.
func imageOf(svc swarm.Service) string {
	if img := svc.Spec.Labels[stack.LabelImage]; img != "" {
		return img
	}
	if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
		return cs.Image
	}
	return ""
}
