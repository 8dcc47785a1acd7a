package server

import (
	"fmt"
	"github.com/flotilla-gitops/flotilla/apply"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/sync"
)

// Reporter turns finished passes into metrics and notifications, so the
// loop only hands each pass over. Either part may be nil.
type Reporter struct {
	metrics  *Metrics
	notifier *Notifier
	now      func() time.Time

	mu gosync.Mutex
	// drift remembers the drift last announced per environment: a stack
	// left drifted (selfHeal: warn) is announced once, not on every tick.
	drift map[string]string
	// health remembers each environment's last stack health, so that a
	// change is announced once.
	health map[string]apply.HealthState
}

// NewReporter reports to m and n.
func NewReporter(m *Metrics, n *Notifier) *Reporter {
	return &Reporter{metrics: m, notifier: n, now: time.Now, drift: map[string]string{}, health: map[string]apply.HealthState{}}
}

var _ sync.Observer = (*Reporter)(nil)

// PassFinished reports one finished pass: its report is what it found and
// did (nil when it failed before knowing).
//
// A recorded deploy announces its outcome; a failed one says its commit is
// now quarantined (one message per failure, so no separate
// commit_quarantined event). Drift is announced when it first appears or
// changes, whether it was healed or only reported.
func (r *Reporter) PassFinished(pe sync.PassEvent) {
	env, stack, rep := pe.Environment, pe.Stack, pe.Report
	r.metrics.ObserveSync(env, passResult(rep, pe.Err), pe.Took)
	switch pe.Quarantine {
	case sync.QuarantineActive:
		r.metrics.SetQuarantined(env, 1)
	case sync.QuarantineClear:
		r.metrics.SetQuarantined(env, 0)
	}
	if rep == nil {
		return
	}
	if h := rep.Health; h != nil {
		r.metrics.SetHealth(env, h.State)
		r.healthChanged(env, stack, rep, *h)
	}
	rec := rep.Record
	if rec != nil && rec.Outcome == sync.Succeeded {
		r.metrics.SetDeployed(env, stack, rec.Commit.SHA)
	}
	drifted := changed(rep.Plan)
	switch {
	case rep.Drift && rec == nil:
		r.metrics.SetDrift(env, len(drifted))
	case rec != nil && rec.Outcome == sync.Succeeded, rep.Skip == sync.SkipNoChanges:
		r.metrics.SetDrift(env, 0)
	}

	ev := Event{Environment: env, Stack: stack, Commit: CommitOf(rep.Commit), Time: r.now()}
	if r.newDrift(env, rep.Drift, drifted) {
		e := ev
		e.Kind = DriftDetected
		e.Message = fmt.Sprintf("%d object(s) changed outside Git: %s", len(drifted), strings.Join(drifted, ", "))
		if rec != nil && rec.Outcome == sync.Succeeded {
			e.Message += "; re-applied from Git"
		}
		r.notifier.Notify(e)
		if rec != nil && rec.Outcome == sync.Succeeded {
			return // the heal is the drift's news, not a deploy
		}
	}
	if rec == nil {
		return
	}
	ev.Kind = EventOf(rec.Outcome)
	ev.Message = rec.Plan
	if rec.Failed() {
		ev.Message = fmt.Sprintf("%s\ncommit %s is quarantined: it is not applied again until a new commit or a forced sync",
			rec.Error, rec.Commit.Short())
	}
	r.notifier.Notify(ev)
}

// healthChanged announces a stack turning degraded, and recovering.
func (r *Reporter) healthChanged(env, stack string, rep *sync.Report, h apply.StackHealth) {
	r.mu.Lock()
	prev := r.health[env]
	r.health[env] = h.State
	r.mu.Unlock()
	ev := Event{Environment: env, Stack: stack, Commit: CommitOf(rep.Commit), Time: r.now()}
	switch {
	case h.State == apply.Degraded && prev != apply.Degraded:
		ev.Kind, ev.Message = StackDegraded, "stack "+stack+" is degraded: "+h.Reason
	case h.State == apply.Healthy && prev == apply.Degraded:
		ev.Kind, ev.Message = StackHealthy, "stack "+stack+" is healthy again"
	default:
		return
	}
	r.notifier.Notify(ev)
}

// newDrift records env's drift and reports whether it is news.
func (r *Reporter) newDrift(env string, drift bool, objects []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !drift {
		delete(r.drift, env)
		return false
	}
	key := strings.Join(objects, "\n")
	if r.drift[env] == key {
		return false
	}
	r.drift[env] = key
	return true
}

// changed lists a plan's changes as "update service shop_api", sorted.
func changed(p diff.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action != diff.ActionNoop {
			out = append(out, fmt.Sprintf("%s %s %s", c.Action, c.Kind, c.Name))
		}
	}
	slices.Sort(out)
	return out
}

// passResult is the result label of flotilla_sync_duration_seconds.
func passResult(rep *sync.Report, err error) string {
	switch {
	case rep != nil && rep.Record != nil:
		return map[sync.Outcome]string{sync.Succeeded: "succeeded", sync.RolledBack: "rolled_back",
			sync.Paused: "paused", sync.Failed: "failed", sync.RollbackFailed: "rollback_failed",
			sync.Interrupted: "interrupted"}[rep.Record.Outcome]
	case err != nil:
		return "error"
	case rep != nil && rep.Drift:
		return "drift"
	}
	return "unchanged"
}
