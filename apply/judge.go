package apply

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
)

// verdict is judge's answer: the status, and what the watch loop follows
// up across polls.
type verdict struct {
	Status
	// unschedulable is the scheduler's error for a task of the new spec
	// that waits for a node ("no suitable node (host-mode port already in
	// use on 1 node)"); the loop fails the service when it lasts.
	unschedulable string
	// crashed is the newest task of the new spec that exited with an error,
	// whose last log line the loop may read.
	crashed string
}

// judge decides one service's phase from its spec, update status and tasks.
// UpdateStatus is nil after a create and after a no-op update, so the tasks
// are the evidence; the update state only adds failure (paused, rollback_*)
// and holds the service in updating while the orchestrator still works.
// Counts are of the tasks of the spec being rolled out: during a rolling
// update the old tasks that still run are not progress.
func judge(svc swarm.Service, tasks []swarm.Task, since time.Time, threshold int) verdict {
	v := verdict{Status: Status{Phase: PhaseUpdating}}
	st := &v.Status
	cur := rolloutTasks(svc, tasks, since)
	st.Job = svc.Spec.Mode.ReplicatedJob != nil || svc.Spec.Mode.GlobalJob != nil
	var running, desired uint64
	if st.Job {
		running, desired = jobCompletions(svc, cur)
	} else {
		running, desired = replicaCounts(svc, cur)
	}
	st.Running, st.Desired = int(running), int(desired)
	if st.Running < st.Desired {
		st.Waiting, v.unschedulable, v.crashed = waiting(svc, cur, since)
	}

	if us := svc.UpdateStatus; us != nil && us.StartedAt != nil && !us.StartedAt.Before(since.Add(-time.Second)) {
		switch us.State {
		case swarm.UpdateStatePaused, swarm.UpdateStateRollbackStarted, swarm.UpdateStateRollbackPaused, swarm.UpdateStateRollbackCompleted:
			// The tasks' errors say more than Swarm's message ("update
			// paused due to failure or early termination of task …").
			st.Phase = PhaseFailed
			st.Reason = fmt.Sprintf("update %s%s", us.State, taskErrors(tasks, since))
			if st.Reason == "update "+string(us.State) && us.Message != "" {
				st.Reason += ": " + us.Message
			}
			return v
		case swarm.UpdateStateUpdating:
			return v
		}
	}

	// Tasks that failed since this deploy touched the service.
	var failures int
	for _, t := range tasks {
		if !t.CreatedAt.Before(since.Add(-time.Second)) && isFailure(t) {
			failures++
		}
	}
	switch {
	case st.Job:
		if st.Running >= st.Desired {
			st.Phase = PhaseConverged
		}
	case st.Running == st.Desired && !oldTasksRunning(tasks):
		st.Phase = PhaseStabilising
	case st.Running == st.Desired:
		st.Waiting = "tasks of the previous spec still stopping"
	}
	if failures >= threshold && st.Phase != PhaseConverged {
		st.Phase = PhaseFailed
		st.Reason = fmt.Sprintf("%d tasks failed%s", failures, taskErrors(tasks, since))
	}
	return v
}

// rolloutTasks are the tasks of the spec being rolled out: made from the
// service's current task template (see currentTasks) and, while Swarm
// replaces tasks for this deploy's update, created since it — a change of
// the published ports replaces tasks whose template did not change.
func rolloutTasks(svc swarm.Service, tasks []swarm.Task, since time.Time) []swarm.Task {
	cur := currentTasks(svc, tasks)
	us := svc.UpdateStatus
	if us == nil || us.State != swarm.UpdateStateUpdating || us.StartedAt == nil || us.StartedAt.Before(since.Add(-time.Second)) {
		return cur
	}
	var out []swarm.Task
	for _, t := range cur {
		if !t.CreatedAt.Before(since.Add(-time.Second)) {
			out = append(out, t)
		}
	}
	return out
}

// waiting says why tasks of the new spec are not all running, from what
// the engine recorded, most telling first: a task the scheduler cannot
// place, the newest failure since the deploy, a task still on its way.
func waiting(svc swarm.Service, cur []swarm.Task, since time.Time) (why, unschedulable, crashed string) {
	pending := 0
	for _, t := range cur {
		if t.Status.State == swarm.TaskStatePending && t.Status.Err != "" && live(t) {
			pending++
			unschedulable = t.Status.Err
		}
	}
	if pending > 0 {
		what := "a task"
		if pending > 1 {
			what = fmt.Sprintf("%d tasks", pending)
		}
		return fmt.Sprintf("%s pending: %s", what, unschedulable), unschedulable, ""
	}
	var newest *swarm.Task
	for i, t := range cur {
		if isFailure(t) && !t.CreatedAt.Before(since.Add(-time.Second)) &&
			(newest == nil || t.Status.Timestamp.After(newest.Status.Timestamp)) {
			newest = &cur[i]
		}
	}
	if newest != nil {
		if newest.Status.State == swarm.TaskStateFailed {
			crashed = newest.ID
		}
		return "last " + describeTask(*newest), "", crashed
	}
	cs := svc.Spec.TaskTemplate.ContainerSpec
	checked := cs != nil && cs.Healthcheck != nil && !slices.Equal(cs.Healthcheck.Test, []string{"NONE"})
	for _, t := range cur {
		if t.Status.State == swarm.TaskStateStarting && checked {
			return "waiting for the healthcheck", "", ""
		}
	}
	for _, t := range cur {
		if live(t) && t.Status.State != swarm.TaskStateRunning {
			return "task " + string(t.Status.State), "", ""
		}
	}
	return "", "", ""
}

// oldTasksRunning reports tasks being shut down that still run: a rolling
// update is not over while they do.
func oldTasksRunning(tasks []swarm.Task) bool {
	for _, t := range tasks {
		if t.DesiredState == swarm.TaskStateShutdown && t.Status.State == swarm.TaskStateRunning {
			return true
		}
	}
	return false
}

// taskErrors lists the distinct errors of failed tasks since the deploy, most
// recent first, for the failure message.
func taskErrors(tasks []swarm.Task, since time.Time) string {
	tasks = slices.Clone(tasks)
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].CreatedAt.After(tasks[j].CreatedAt) })
	var msgs []string
	for _, t := range tasks {
		if t.CreatedAt.Before(since.Add(-time.Second)) || t.Status.Err == "" {
			continue
		}
		if msg := describeTaskError(t.Status.Err); !slices.Contains(msgs, msg) {
			msgs = append(msgs, msg)
		}
		if len(msgs) == 3 {
			break
		}
	}
	if len(msgs) == 0 {
		return ""
	}
	return " (" + strings.Join(msgs, "; ") + ")"
}

// describeTaskError turns the engine's words for a failed pull, which name
// only the image, into what happened and what to do about it.
func describeTaskError(msg string) string {
	image, ok := cluster.MissingImage(msg)
	if !ok {
		return msg
	}
	host, err := cluster.RegistryHost(image)
	if err != nil {
		return msg
	}
	return fmt.Sprintf("image %s could not be pulled from registry %s (the engine says %q): the registry does not have it, "+
		"cannot be reached, or wants credentials; deploy with --with-registry-auth, or give the operator registries: credentials for %s",
		image, host, strings.TrimSpace(msg), host)
}
