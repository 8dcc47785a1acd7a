package apply

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/flotilla-gitops/flotilla/cluster"
)

// OnFailure says what a deploy does when a service fails to converge.
type OnFailure string

const (
	// Rollback returns every service the deploy changed to its previous
	// spec, removes what it created, and waits for the old tasks.
	Rollback OnFailure = "rollback"
	// Pause leaves everything as it is for a person to look at.
	Pause OnFailure = "pause"
)

// Options tune one Run. The zero value rolls back on failure, waits up to 5m,
// does not prune and sends no registry credentials.
type Options struct {
	OnFailure OnFailure
	Prune     bool
	// Detach returns once the changes are sent, without waiting (and so
	// without rolling back).
	Detach bool
	// ProgressDeadline bounds the wait for convergence (default 5m).
	ProgressDeadline time.Duration
	// Monitor overrides how long a service's tasks must stay up to count as
	// converged (default: its update_config.monitor, else 5s).
	Monitor time.Duration
	// FailureThreshold is how many failed tasks on the new spec fail a
	// service (default 3).
	FailureThreshold int
	// Unschedulable is how long a task of the new spec may wait for a node
	// the scheduler cannot find — a host port in use, constraints no node
	// meets, too few resources — before its service fails (default: the
	// larger of 30s and the monitor period). Time while tasks of the
	// previous spec still stop does not count: they may hold the port.
	Unschedulable time.Duration
	// Concurrency bounds the services created or updated at once (default 8).
	Concurrency int
	// RegistryAuth gives the credentials sent with each service create and
	// update (docker's --with-registry-auth), chosen by the registry of the
	// service's image; nil sends none. Resolving tags to digests happens
	// before the plan (cluster.PinImages), not here.
	RegistryAuth cluster.RegistryAuth
	// Progress receives every service's status on each poll while waiting,
	// the rollback's included (Status.Rollback).
	Progress func([]Status)
	// EngineWarning, when set, receives what the engine said about a
	// service it accepted, instead of the log.
	EngineWarning func(service, warning string)
	Log           *slog.Logger
	// PollInterval is how often convergence is checked (default 500ms).
	PollInterval time.Duration
	// Journal, when set, is told what the deploy will change before its
	// first write and of every object it creates (see JournalHandle).
	Journal JournalWriter
}

func (o Options) withDefaults() Options {
	if o.OnFailure == "" {
		o.OnFailure = Rollback
	}
	if o.ProgressDeadline == 0 {
		o.ProgressDeadline = 5 * time.Minute
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.RegistryAuth != nil {
		o.RegistryAuth = &onceAuth{next: o.RegistryAuth, seen: map[string]onceAnswer{}}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// ParseOnFailure checks a --on-failure value.
func ParseOnFailure(s string) (OnFailure, error) {
	switch OnFailure(s) {
	case Rollback, Pause:
		return OnFailure(s), nil
	}
	return "", fmt.Errorf("on-failure must be rollback or pause, not %q", s)
}
