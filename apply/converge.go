package apply

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// Phase is where one service stands while a deploy waits for it.
type Phase string

const (
	PhaseUpdating    Phase = "updating"
	PhaseStabilising Phase = "stabilising" // all tasks run; watching for the monitor period
	PhaseConverged   Phase = "converged"
	PhaseFailed      Phase = "failed"
	// PhaseRemoved: a service the failed deploy created, removed by its
	// rollback.
	PhaseRemoved Phase = "removed"
)

// Status is one service's progress, as the progress reporter shows it.
type Status struct {
	Service string
	Phase   Phase
	Running int // tasks running on the new spec
	Desired int // tasks wanted (for jobs: completions)
	Job     bool
	// Rollback marks the wait of a rollback: the spec rolled out is the
	// one the service had before the failed deploy.
	Rollback bool
	// Waiting says why not every task of the new spec runs yet: a task
	// the scheduler cannot place, the last failure, a task starting.
	Waiting string
	// LastLog is the last line the newest crashed task of the new spec
	// logged, when the engine keeps its logs. It is for the person
	// watching, never part of an error (a log line may hold anything).
	LastLog string
	// Reason says why a service failed: the tasks' errors or the update state.
	Reason string
}

// Label is the phase in words, a rollback's named as such.
func (s Status) Label() string {
	if !s.Rollback {
		return string(s.Phase)
	}
	switch s.Phase {
	case PhaseUpdating:
		return "rolling back"
	case PhaseStabilising:
		return "rolling back (stabilising)"
	case PhaseConverged:
		return "rolled back"
	case PhaseFailed:
		return "rollback failed"
	case PhaseRemoved:
		return "removed (rollback)"
	}
	return "rollback " + string(s.Phase)
}

// Count is "2/3 running" ("1/1 completed" for a job), or "" when there is
// nothing to count: a service that disappeared, or one the rollback removed.
func (s Status) Count() string {
	if s.Desired == 0 && s.Running == 0 && (s.Phase == PhaseFailed || s.Phase == PhaseRemoved) {
		return ""
	}
	unit := "running"
	if s.Job {
		unit = "completed"
	}
	return fmt.Sprintf("%d/%d %s", s.Running, s.Desired, unit)
}

// Detail is the label with why: the failure's reason, or what the tasks
// wait for, and the crashed task's last log line.
func (s Status) Detail() string {
	line := s.Label()
	switch {
	case s.Reason != "":
		line += ": " + s.Reason
	case s.Waiting != "":
		line += ": " + s.Waiting
	}
	if s.LastLog != "" {
		line += "; its last log line: " + s.LastLog
	}
	return line
}

func (s Status) String() string {
	if c := s.Count(); c != "" {
		return s.Service + "  " + c + "  " + s.Detail()
	}
	return s.Service + "  " + s.Detail()
}

// watchOptions tunes convergence; zero values take the defaults.
type watchOptions struct {
	Deadline         time.Duration // the progress deadline for the whole wait
	Monitor          time.Duration // how long tasks must stay up; default: the service's update monitor, else 5s
	FailureThreshold int           // failed tasks on the new spec that fail a service; default 3
	Interval         time.Duration // poll interval; default 500ms
	// Unschedulable is how long a task of the new spec may wait for a node
	// the scheduler cannot find before its service fails; default the
	// larger of 30s and the service's monitor period.
	Unschedulable time.Duration
	Progress      func([]Status)
	// Rollback labels the statuses as a rollback's.
	Rollback bool
}

// watched is a service this deploy changed, and when it changed it: tasks and
// update states older than that belong to the previous spec.
type watched struct {
	id, name string
	since    time.Time
}

// watchState is what the loop remembers of one service between polls.
type watchState struct {
	stableSince  time.Time // all tasks running since
	pendingSince time.Time // a task waiting for a node since
}

// waitConverged polls every watched service together — two list calls per
// tick whatever their number, and one log read per crashed task — until all
// converged or one failed or the deadline passed. It returns the final
// statuses; the error names each failing service.
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
	state := map[string]*watchState{}
	logs := lastLogs{c: c, lines: map[string]string{}}
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
		// A host port or a resource may be held by a task of the previous
		// spec, of this service or another the deploy changed, until it
		// stops: no task counts as unplaceable while one runs.
		stopping := oldTasksRunning(tasks)
		now := time.Now()
		statuses := make([]Status, len(ws))
		done := true
		var failed []string
		for i, w := range ws {
			svc, ok := byID[w.id]
			if !ok {
				statuses[i] = Status{Service: w.name, Phase: PhaseFailed, Reason: "service disappeared", Rollback: o.Rollback}
				failed = append(failed, w.name+": service disappeared")
				continue
			}
			mem := state[w.id]
			if mem == nil {
				mem = &watchState{}
				state[w.id] = mem
			}
			v := judge(svc, tasksOf[w.id], w.since, o.FailureThreshold)
			st := v.Status
			st.Service, st.Rollback = w.name, o.Rollback
			if v.crashed != "" {
				st.LastLog = logs.last(ctx, v.crashed)
			}
			if st.Phase == PhaseStabilising {
				if mem.stableSince.IsZero() {
					mem.stableSince = now
				}
				if now.Sub(mem.stableSince) >= monitorPeriod(svc, o.Monitor) {
					st.Phase = PhaseConverged
				}
			} else {
				mem.stableSince = time.Time{}
			}
			if v.unschedulable != "" && !stopping && st.Phase != PhaseFailed {
				if mem.pendingSince.IsZero() {
					mem.pendingSince = now
				}
				if limit := unschedulableLimit(svc, o); now.Sub(mem.pendingSince) >= limit {
					st.Phase = PhaseFailed
					st.Reason = fmt.Sprintf("no node for a task in %s: %s", limit, v.unschedulable)
				}
			} else {
				mem.pendingSince = time.Time{}
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
			for _, st := range statuses {
				if st.Phase != PhaseConverged {
					msg := fmt.Sprintf("%s: %d/%d after %s", st.Service, st.Running, st.Desired, o.Deadline)
					if st.Waiting != "" {
						msg += " (" + st.Waiting + ")"
					}
					late = append(late, msg)
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

// unschedulableLimit is how long a task may wait for a node. Waiting out
// the whole progress deadline for a host port another service holds helps
// nobody; a node coming back within half a minute still makes it.
func unschedulableLimit(svc swarm.Service, o watchOptions) time.Duration {
	if o.Unschedulable > 0 {
		return o.Unschedulable
	}
	return max(30*time.Second, monitorPeriod(svc, o.Monitor))
}
