package apply

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
)

// Phase is where one service stands while a deploy waits for it.
type Phase string

const (
	PhaseUpdating    Phase = "updating"
	PhaseStabilising Phase = "stabilising" // all tasks run; watching for the monitor period
	PhaseConverged   Phase = "converged"
	PhaseFailed      Phase = "failed"
)

// Status is one service's progress, as the progress reporter shows it.
type Status struct {
	Service string
	Phase   Phase
	Running int // tasks running on the new spec
	Desired int // tasks wanted (for jobs: completions)
	Job     bool
	// Reason says why a service failed: the tasks' errors or the update state.
	Reason string
}

func (s Status) String() string {
	unit := "running"
	if s.Job {
		unit = "completed"
	}
	line := fmt.Sprintf("%s  %d/%d %s  %s", s.Service, s.Running, s.Desired, unit, s.Phase)
	if s.Reason != "" {
		line += ": " + s.Reason
	}
	return line
}

// watchOptions tunes convergence; zero values take the defaults.
type watchOptions struct {
	Deadline         time.Duration // the progress deadline for the whole wait
	Monitor          time.Duration // how long tasks must stay up; default: the service's update monitor, else 5s
	FailureThreshold int           // failed tasks on the new spec that fail a service; default 3
	Interval         time.Duration // poll interval; default 500ms
	Progress         func([]Status)
}

// watched is a service this deploy changed, and when it changed it: tasks and
// update states older than that belong to the previous spec.
type watched struct {
	id, name string
	since    time.Time
}

// waitConverged polls every watched service together — two list calls per
// tick whatever their number — until all converged or one failed or the
// deadline passed. It returns the final statuses; the error names each
// failing service.
func waitConverged(ctx context.Context, c Cluster, ws []watched, o watchOptions) ([]Status, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	if o.Interval == 0 {
		o.Interval = 500 * time.Millisecond
	}
	if o.FailureThreshold == 0 {
		o.FailureThreshold = 3
	}
	if o.Deadline == 0 {
		o.Deadline = 5 * time.Minute
	}
	deadline := time.Now().Add(o.Deadline)
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.id
	}
	stableSince := map[string]time.Time{}
	for {
		services, err := c.ServicesByID(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("reading services: %w", err)
		}
		tasks, err := c.ServiceTasks(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("reading tasks: %w", err)
		}
		byID := map[string]swarm.Service{}
		for _, s := range services {
			byID[s.ID] = s
		}
		tasksOf := map[string][]swarm.Task{}
		for _, t := range tasks {
			tasksOf[t.ServiceID] = append(tasksOf[t.ServiceID], t)
		}
		now := time.Now()
		statuses := make([]Status, len(ws))
		done := true
		var failed []string
		for i, w := range ws {
			svc, ok := byID[w.id]
			if !ok {
				statuses[i] = Status{Service: w.name, Phase: PhaseFailed, Reason: "service disappeared"}
				failed = append(failed, w.name+": service disappeared")
				continue
			}
			st := judge(svc, tasksOf[w.id], w.since, o.FailureThreshold)
			st.Service = w.name
			if st.Phase == PhaseStabilising {
				first, seen := stableSince[w.id]
				if !seen {
					first = now
					stableSince[w.id] = now
				}
				if now.Sub(first) >= monitorPeriod(svc, o.Monitor) {
					st.Phase = PhaseConverged
				}
			} else {
				delete(stableSince, w.id)
			}
			switch st.Phase {
			case PhaseFailed:
				failed = append(failed, w.name+": "+st.Reason)
			case PhaseConverged:
			default:
				done = false
			}
			statuses[i] = st
		}
		if o.Progress != nil {
			o.Progress(statuses)
		}
		if len(failed) > 0 {
			return statuses, &ConvergeError{Failures: failed}
		}
		if done {
			return statuses, nil
		}
		if now.After(deadline) {
			// The tasks' errors say why, when they say anything: a task
			// the scheduler cannot place is pending with its reason ("no
			// suitable node (max replicas per node limit exceed…)").
			var late []string
			for i, st := range statuses {
				if st.Phase != PhaseConverged {
					late = append(late, fmt.Sprintf("%s: %d/%d after %s%s", st.Service, st.Running, st.Desired, o.Deadline,
						taskErrors(tasksOf[ws[i].id], ws[i].since)))
				}
			}
			return statuses, &ConvergeError{Failures: late, Deadline: true}
		}
		select {
		case <-ctx.Done():
			return statuses, ctx.Err()
		case <-time.After(o.Interval):
		}
	}
}

// ConvergeError says which services did not converge and why.
type ConvergeError struct {
	Failures []string
	Deadline bool // the progress deadline passed
}

func (e *ConvergeError) Error() string {
	what := "services failed"
	if e.Deadline {
		what = "progress deadline exceeded"
	}
	return what + ": " + strings.Join(e.Failures, "; ")
}

func monitorPeriod(svc swarm.Service, override time.Duration) time.Duration {
	if override > 0 {
		return override
	}
	if uc := svc.Spec.UpdateConfig; uc != nil && uc.Monitor > 0 {
		return uc.Monitor
	}
	return 5 * time.Second
}

// judge decides one service's phase from its spec, update status and tasks.
// UpdateStatus is nil after a create and after a no-op update, so the tasks
// are the evidence; the update state only adds failure (paused, rollback_*)
// and holds the service in updating while the orchestrator still works.
func judge(svc swarm.Service, tasks []swarm.Task, since time.Time, threshold int) Status {
	st := Status{Phase: PhaseUpdating}
	if us := svc.UpdateStatus; us != nil && us.StartedAt != nil && !us.StartedAt.Before(since.Add(-time.Second)) {
		switch us.State {
		case swarm.UpdateStatePaused, swarm.UpdateStateRollbackStarted, swarm.UpdateStateRollbackPaused, swarm.UpdateStateRollbackCompleted:
			st.Phase = PhaseFailed
			st.Reason = fmt.Sprintf("update %s: %s%s", us.State, us.Message, taskErrors(tasks, since))
			return st
		case swarm.UpdateStateUpdating:
			st.Running, st.Desired = countRunning(svc, tasks)
			return st
		}
	}

	// Tasks that failed since this deploy touched the service.
	var failures int
	for _, t := range tasks {
		if t.CreatedAt.Before(since.Add(-time.Second)) {
			continue
		}
		switch t.Status.State {
		case swarm.TaskStateFailed, swarm.TaskStateRejected:
			failures++
		}
	}

	switch {
	case svc.Spec.Mode.ReplicatedJob != nil || svc.Spec.Mode.GlobalJob != nil:
		st.Job = true
		completed := 0
		for _, t := range tasks {
			if t.Status.State == swarm.TaskStateComplete && !t.CreatedAt.Before(since.Add(-time.Second)) {
				completed++
			}
		}
		st.Running = completed
		st.Desired = 1
		if j := svc.Spec.Mode.ReplicatedJob; j != nil && j.TotalCompletions != nil {
			st.Desired = int(*j.TotalCompletions)
		}
		if svc.Spec.Mode.GlobalJob != nil {
			st.Desired = max(1, countDesiredRunningOrComplete(tasks))
		}
		if completed >= st.Desired {
			st.Phase = PhaseConverged
		}
	default:
		st.Running, st.Desired = countRunning(svc, tasks)
		if st.Running == st.Desired && !oldTasksRunning(tasks) {
			st.Phase = PhaseStabilising
		}
	}
	if failures >= threshold && st.Phase != PhaseConverged {
		st.Phase = PhaseFailed
		st.Reason = fmt.Sprintf("%d tasks failed%s", failures, taskErrors(tasks, since))
	}
	return st
}

// countRunning counts tasks the orchestrator wants running that do run
// (with a healthcheck, a task only reaches running once healthy).
func countRunning(svc swarm.Service, tasks []swarm.Task) (running, desired int) {
	for _, t := range tasks {
		if t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateRunning {
			running++
		}
	}
	switch {
	case svc.Spec.Mode.Replicated != nil && svc.Spec.Mode.Replicated.Replicas != nil:
		desired = int(*svc.Spec.Mode.Replicated.Replicas)
	case svc.Spec.Mode.Global != nil:
		// One task per eligible node: the orchestrator says how many by
		// creating them.
		for _, t := range tasks {
			if t.DesiredState == swarm.TaskStateRunning {
				desired++
			}
		}
		desired = max(desired, 1)
	default:
		desired = 1
	}
	return running, desired
}

func countDesiredRunningOrComplete(tasks []swarm.Task) int {
	n := 0
	for _, t := range tasks {
		if t.DesiredState == swarm.TaskStateRunning || t.DesiredState == swarm.TaskStateComplete {
			n++
		}
	}
	return n
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
