package sync

import (
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/environments"
)

// Observer is told of every finished pass: metrics, notifications and live
// events all see the same facts, whatever started the pass.
type Observer interface {
	PassFinished(PassEvent)
}

// StartObserver is an Observer that also wants to know when a job of an
// environment starts (a pass, a rollback, a resume), as the dashboard's
// live view does. Every start is followed by a PassFinished, except a
// resume's: the pass from the branch tip that follows it reports.
type StartObserver interface {
	PassStarted(env string, t Trigger)
}

// starting tells the StartObservers that j begins, and has a pass report
// its services' convergence to OperatorOptions.Progress.
func (op *Operator) starting(env string, j *job) {
	if p := op.o.Progress; p != nil && j.kind == jobPass {
		j.o.Progress = func(st []apply.Status) { p(env, st) }
	}
	for _, o := range op.o.Observers {
		if so, ok := o.(StartObserver); ok {
			so.PassStarted(env, j.trigger())
		}
	}
}

// Quarantine is what a pass learned of its commit's quarantine.
type Quarantine int

const (
	// QuarantineUnknown: the pass did not get as far as a commit (pinned,
	// Git unreachable).
	QuarantineUnknown Quarantine = iota
	// QuarantineClear: the commit deployed, or is the one deployed.
	QuarantineClear
	// QuarantineActive: the commit's deploy failed; it is not applied
	// again until a new commit or a forced sync.
	QuarantineActive
)

// PassEvent is one finished pass, as metrics and notifications see it.
// The operator's policy is already applied: with selfHeal off, drift is not
// reported.
type PassEvent struct {
	Environment string
	Stack       string
	Trigger     Trigger
	Report      *Report // nil when the pass failed before it had one
	Err         error
	Took        time.Duration
	Quarantine  Quarantine
}

// newPassEvent applies the operator's policy to what a pass returned.
func newPassEvent(e *environments.Environment, t Trigger, rep *Report, err error, took time.Duration) PassEvent {
	ev := PassEvent{Trigger: t, Report: rep, Err: err, Took: took}
	if e != nil {
		ev.Environment, ev.Stack = e.Name, e.Stack
	}
	if rep == nil {
		return ev
	}
	if ev.Environment == "" {
		ev.Environment, ev.Stack = rep.Environment, rep.Stack
	}
	if rep.Drift && e != nil && e.SelfHeal == environments.SelfHealOff {
		// selfHeal: off ignores drift, in metrics and notifications too.
		masked := *rep
		masked.Drift = false
		ev.Report = &masked
	}
	switch {
	case rep.Record != nil && rep.Record.Failed():
		ev.Quarantine = QuarantineActive
	case rep.Record != nil:
		ev.Quarantine = QuarantineClear
	case rep.Skip == SkipQuarantined:
		ev.Quarantine = QuarantineActive
	case rep.Skip == SkipNoChanges, rep.Skip == SkipDrift:
		ev.Quarantine = QuarantineClear
	}
	return ev
}

// ObserverFunc is a function as an Observer.
type ObserverFunc func(PassEvent)

// PassFinished calls f.
func (f ObserverFunc) PassFinished(ev PassEvent) { f(ev) }
