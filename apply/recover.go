package apply

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
)

// RecoverCluster is what Recover needs: apply's Cluster, and the IDs of
// objects a deploy may have created before it could journal them.
type RecoverCluster interface {
	Cluster
	ServiceIDs(ctx context.Context, names []string) (map[string]string, error)
	NetworkIDs(ctx context.Context, names []string) (map[string]string, error)
}

// RecoverOutcome is how Recover left an interrupted deploy.
type RecoverOutcome string

const (
	// RecoverConverged: every change had been sent and the stack's
	// changed services run healthy: the deploy succeeded after all.
	RecoverConverged RecoverOutcome = "converged"
	// RecoverRolledBack: the journal's services are back on their previous
	// specs and what the deploy created is gone.
	RecoverRolledBack RecoverOutcome = "rolled-back"
	// RecoverRollbackFailed: the rollback failed too (see the error); the
	// stack is somewhere between the two states.
	RecoverRollbackFailed RecoverOutcome = "rollback-failed"
)

// RecoverCause says why Recover rolled back: whether the commit is to blame.
type RecoverCause string

const (
	// CauseIncomplete: the writer stopped before it sent every change.
	// Nothing says the commit is bad: deploy it again.
	CauseIncomplete RecoverCause = "incomplete"
	// CauseDegraded: every change was sent and a service is degraded: the
	// commit is bad.
	CauseDegraded RecoverCause = "degraded"
	// CauseDeadline: every change was sent and the services were still
	// not healthy at the progress deadline.
	CauseDeadline RecoverCause = "deadline"
)

// RecoverResult says what Recover found and did.
type RecoverResult struct {
	Outcome RecoverOutcome
	Cause   RecoverCause // empty when converged
	// Reason says it for people: which change was not sent, or the
	// health's reason.
	Reason string
	// Health is the last assessment of the journal's services, when every
	// change had been sent.
	Health     StackHealth
	RolledBack []string // objects restored or removed
}

// RecoverOptions tune Recover; zero values take the defaults.
type RecoverOptions struct {
	// ProgressDeadline bounds the wait for progressing services (default 5m).
	ProgressDeadline time.Duration
	// Monitor is how long the services must stay healthy (default 5s).
	Monitor time.Duration
	// PollInterval is how often health is checked (default 500ms).
	PollInterval time.Duration
	// RegistryAuth gives the credentials sent with each service restored
	// to its previous spec, whose image a node may have to pull again
	// (as Options.RegistryAuth); nil sends none.
	RegistryAuth cluster.RegistryAuth
	Log          *slog.Logger
}

// Recover finishes the deploy of an open journal whose writer is gone
// (killed, or shut down past its grace): if every change had been sent, it
// waits for the changed services to be healthy and reports them converged;
// otherwise — a change not sent, a service degraded or still not healthy at
// the deadline — it restores every journaled service to its previous spec,
// removes what the deploy created and waits for the old tasks. It does not
// remove the journal: record the outcome, then RemoveJournal.
func Recover(ctx context.Context, c RecoverCluster, j *Journal, opts RecoverOptions) (RecoverResult, error) {
	if opts.ProgressDeadline == 0 {
		opts.ProgressDeadline = 5 * time.Minute
	}
	if opts.Monitor == 0 {
		opts.Monitor = 5 * time.Second
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.RegistryAuth != nil {
		opts.RegistryAuth = &onceAuth{next: opts.RegistryAuth, seen: map[string]onceAnswer{}}
	}
	log := opts.Log.With("stack", j.Stack, "writer", j.Writer, "started", j.Started)
	created, err := resolveCreated(ctx, c, j.Creates)
	if err != nil {
		return RecoverResult{}, fmt.Errorf("recovering the deploy of stack %s: %w", j.Stack, err)
	}
	ids := make([]string, 0, len(j.Services)+len(created))
	for _, s := range j.Services {
		ids = append(ids, s.ID)
	}
	for _, o := range created {
		if o.kind == diff.KindService {
			ids = append(ids, o.id)
		}
	}

	var res RecoverResult
	missing, err := unsent(ctx, c, j, created)
	if err != nil {
		return res, fmt.Errorf("recovering the deploy of stack %s: %w", j.Stack, err)
	}
	if len(missing) > 0 {
		res.Cause, res.Reason = CauseIncomplete, "not sent: "+strings.Join(missing, ", ")
	} else {
		res.Health, res.Cause, err = watchHealth(ctx, c, ids, opts)
		if err != nil {
			return res, fmt.Errorf("recovering the deploy of stack %s: %w", j.Stack, err)
		}
		res.Reason = res.Health.Reason
		if res.Cause == "" {
			res.Outcome = RecoverConverged
			log.Info("interrupted deploy converged", "target", j.Target.Commit)
			return res, nil
		}
	}

	log.Warn("rolling back an interrupted deploy", "cause", res.Cause, "reason", res.Reason)
	previous := make(map[string]previousSpec, len(j.Services))
	for _, s := range j.Services {
		previous[s.ID] = previousSpec{name: s.Name, spec: s.Previous}
	}
	res.RolledBack, err = restore(ctx, c, opts.RegistryAuth, previous, created, watchOptions{
		Deadline: opts.ProgressDeadline, Monitor: time.Second, Interval: opts.PollInterval,
	})
	if err != nil {
		res.Outcome = RecoverRollbackFailed
		return res, fmt.Errorf("rolling back the interrupted deploy of stack %s: %w", j.Stack, err)
	}
	res.Outcome = RecoverRolledBack
	return res, nil
}

// resolveCreated finds the journal's created objects that exist: by ID when
// the journal has it, by name otherwise (the writer may have died between
// the create and the journal's update). Names are the plan's, so an object
// by that name did not exist before the deploy.
func resolveCreated(ctx context.Context, c RecoverCluster, creates []JournalObject) ([]createdObject, error) {
	names := map[diff.Kind][]string{}
	for _, o := range creates {
		if o.ID == "" {
			names[o.Kind] = append(names[o.Kind], o.Name)
		}
	}
	found := map[diff.Kind]map[string]string{}
	for kind, ns := range names {
		var lookup func(context.Context, []string) (map[string]string, error)
		switch kind {
		case diff.KindService:
			lookup = c.ServiceIDs
		case diff.KindNetwork:
			lookup = c.NetworkIDs
		case diff.KindSecret:
			lookup = c.SecretIDs
		case diff.KindConfig:
			lookup = c.ConfigIDs
		default:
			continue
		}
		ids, err := lookup(ctx, ns)
		if err != nil {
			return nil, err
		}
		found[kind] = ids
	}
	var out []createdObject
	for _, o := range creates {
		id := o.ID
		if id == "" {
			id = found[o.Kind][o.Name]
		}
		if id != "" {
			out = append(out, createdObject{kind: o.Kind, id: id, name: o.Name})
		}
	}
	return out, nil
}

// unsent lists the changes of the journal the writer had not sent: a
// service not carrying the new spec's hash (unless Swarm rolled its update
// back, which means it was sent), a planned object that does not exist.
func unsent(ctx context.Context, c Cluster, j *Journal, created []createdObject) ([]string, error) {
	exists := map[string]bool{}
	for _, o := range created {
		exists[string(o.kind)+"/"+o.name] = true
	}
	var missing []string
	for _, o := range j.Creates {
		if !exists[string(o.Kind)+"/"+o.Name] {
			missing = append(missing, fmt.Sprintf("%s %s", o.Kind, o.Name))
		}
	}
	if len(j.Services) == 0 {
		return missing, nil
	}
	ids := make([]string, len(j.Services))
	for i, s := range j.Services {
		ids[i] = s.ID
	}
	services, err := c.ServicesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := map[string]swarm.Service{}
	for _, s := range services {
		byID[s.ID] = s
	}
	for _, js := range j.Services {
		svc, ok := byID[js.ID]
		switch {
		case !ok:
			missing = append(missing, "service "+js.Name+" (removed since)")
		case js.SpecHash != "" && svc.Spec.Labels[stack.LabelSpecHash] == js.SpecHash:
		case rolledBackBySwarm(svc, j.Started):
		default:
			missing = append(missing, "update of service "+js.Name)
		}
	}
	slices.Sort(missing)
	return missing, nil
}

func rolledBackBySwarm(svc swarm.Service, since time.Time) bool {
	us := svc.UpdateStatus
	if us == nil || us.StartedAt == nil || us.StartedAt.Before(since) {
		return false
	}
	switch us.State {
	case swarm.UpdateStateRollbackStarted, swarm.UpdateStateRollbackPaused, swarm.UpdateStateRollbackCompleted:
		return true
	}
	return false
}

// watchHealth assesses the services until they are healthy for the monitor
// period (no cause), one is degraded, or the deadline passes.
func watchHealth(ctx context.Context, c Cluster, ids []string, o RecoverOptions) (StackHealth, RecoverCause, error) {
	deadline := time.Now().Add(o.ProgressDeadline)
	var healthySince time.Time
	for {
		var h StackHealth
		if len(ids) > 0 {
			services, err := c.ServicesByID(ctx, ids)
			if err != nil {
				return h, "", err
			}
			tasks, err := c.ServiceTasks(ctx, ids)
			if err != nil {
				return h, "", err
			}
			h = Assess(services, tasks, time.Now())
		} else {
			h = Assess(nil, nil, time.Now())
		}
		now := time.Now()
		switch h.State {
		case Degraded:
			return h, CauseDegraded, nil
		case Healthy:
			if healthySince.IsZero() {
				healthySince = now
			}
			if len(ids) == 0 || now.Sub(healthySince) >= o.Monitor {
				return h, "", nil
			}
		default:
			healthySince = time.Time{}
			if now.After(deadline) {
				return h, CauseDeadline, nil
			}
		}
		select {
		case <-ctx.Done():
			return h, "", ctx.Err()
		case <-time.After(o.PollInterval):
		}
	}
}
