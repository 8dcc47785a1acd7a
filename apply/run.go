package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/diff"
)

// Result says what a Run did.
type Result struct {
	Created []string // object names
	Updated []string
	Removed []string
	// Statuses are the services' final convergence statuses.
	Statuses []Status
	// Failed names the services that failed to converge; RolledBack the
	// objects the rollback restored or removed.
	Failed     []string
	RolledBack []string
}

// Failure says how a failed deploy ended: what is running now.
type Failure string

const (
	// FailureRolledBack: every service the deploy changed is back on its
	// previous spec and what it created is gone.
	FailureRolledBack Failure = "rolled-back"
	// FailureRollbackFailed: the rollback itself failed; the stack is
	// somewhere between the two states (see RollbackErr).
	FailureRollbackFailed Failure = "rollback-failed"
	// FailurePaused: everything was left as it was for a person to look at
	// (on-failure: pause, or a detached deploy).
	FailurePaused Failure = "paused"
	// FailureInterrupted: the caller's context ended (Ctrl-C, shutdown).
	// Nothing is rolled back; the swarm carries on with what was sent, and
	// the next deploy starts from the live state.
	FailureInterrupted Failure = "interrupted"
)

// FailedError is a deploy that failed: which services, why, and how it
// ended. RollbackErr is set when Kind is FailureRollbackFailed.
type FailedError struct {
	Stack       string
	Err         error
	Kind        Failure
	RolledBack  []string
	RollbackErr error
}

func (e *FailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "deploying stack %s: %v", e.Stack, e.Err)
	switch e.Kind {
	case FailureRollbackFailed:
		fmt.Fprintf(&b, "; rollback failed too: %v", e.RollbackErr)
	case FailureInterrupted:
		b.WriteString("; interrupted: nothing rolled back, the swarm carries on with what was sent")
	case FailurePaused:
		b.WriteString("; left as it is (on-failure: pause)")
	case FailureRolledBack:
		if len(e.RolledBack) > 0 {
			fmt.Fprintf(&b, "; rolled back: %s", strings.Join(e.RolledBack, ", "))
		}
	}
	return b.String()
}

func (e *FailedError) Unwrap() []error { return []error{e.Err, e.RollbackErr} }

// ConflictError refuses a plan that would touch objects Flotilla does not own.
type ConflictError struct{ Conflicts []string }

func (e *ConflictError) Error() string {
	return "refusing to apply: " + strings.Join(e.Conflicts, "; ")
}

// run is one execution of a plan, with the journal a rollback undoes.
type run struct {
	c    Cluster
	plan diff.Plan
	o    Options

	secretIDs map[string]string
	configIDs map[string]string

	mu       gosync.Mutex
	res      Result
	created  []createdObject
	previous map[string]previousSpec // service ID → spec before this deploy
}

type createdObject struct {
	kind     diff.Kind
	id, name string
}

type previousSpec struct {
	name string
	spec swarm.ServiceSpec
}

// Run executes plan: networks, secrets and configs, services (concurrently,
// bounded), then waits for the changed services to converge, rolls back on
// failure when asked, and finally prunes what the plan deletes (when asked).
// It decides nothing the plan did not say.
func Run(ctx context.Context, c Cluster, plan diff.Plan, opts Options) (*Result, error) {
	o := opts.withDefaults()
	if cs := plan.Conflicts(); len(cs) > 0 {
		var msgs []string
		for _, ch := range cs {
			msgs = append(msgs, ch.Conflict)
		}
		return nil, &ConflictError{Conflicts: msgs}
	}
	r := &run{c: c, plan: plan, o: o, secretIDs: map[string]string{}, configIDs: map[string]string{}, previous: map[string]previousSpec{}}
	log := o.Log.With("stack", plan.Stack)
	if o.Journal != nil {
		services, creates := journalPlan(plan)
		if err := o.Journal.Started(ctx, services, creates); err != nil {
			return nil, fmt.Errorf("deploying stack %s: recording the journal: %w", plan.Stack, err)
		}
	}

	watch, err := r.applyAll(ctx)
	if err != nil {
		return r.fail(ctx, err)
	}
	if o.Detach {
		log.Info("changes sent; not waiting (detach)", "services", len(watch))
		return &r.res, nil
	}
	statuses, err := waitConverged(ctx, c, watch, watchOptions{
		Deadline: o.ProgressDeadline, Monitor: o.Monitor, FailureThreshold: o.FailureThreshold,
		Interval: o.PollInterval, Progress: o.Progress, Unschedulable: o.Unschedulable,
	})
	r.res.Statuses = statuses
	if err != nil {
		for _, st := range statuses {
			if st.Phase == PhaseFailed || st.Phase != PhaseConverged {
				r.res.Failed = append(r.res.Failed, st.Service)
			}
		}
		return r.fail(ctx, err)
	}
	if err := r.prune(ctx); err != nil {
		return &r.res, fmt.Errorf("pruning stack %s: %w", plan.Stack, err)
	}
	log.Info("deploy finished", "created", len(r.res.Created), "updated", len(r.res.Updated), "removed", len(r.res.Removed))
	return &r.res, nil
}

// applyAll sends every create and update, in plan order, and returns the
// services to watch.
func (r *run) applyAll(ctx context.Context) ([]watched, error) {
	// Objects the plan leaves alone still resolve references.
	for _, ch := range r.plan.Changes {
		if ch.Live == nil || ch.Action == diff.ActionDelete || ch.Action == diff.ActionReplace {
			continue
		}
		switch ch.Kind {
		case diff.KindSecret:
			r.secretIDs[ch.Name] = ch.Live.ID
		case diff.KindConfig:
			r.configIDs[ch.Name] = ch.Live.ID
		}
	}
	var services []diff.Change
	for _, ch := range r.plan.Changes {
		var err error
		switch ch.Kind {
		case diff.KindNetwork:
			err = r.network(ctx, ch)
		case diff.KindSecret:
			err = r.secret(ctx, ch)
		case diff.KindConfig:
			err = r.config(ctx, ch)
		case diff.KindService:
			if ch.Action == diff.ActionCreate || ch.Action == diff.ActionUpdate || ch.Action == diff.ActionReplace {
				services = append(services, ch)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return r.services(ctx, services)
}

// recordCreated remembers an object for the rollback, and tells the journal.
func (r *run) recordCreated(ctx context.Context, kind diff.Kind, id, name string) error {
	r.mu.Lock()
	r.created = append(r.created, createdObject{kind: kind, id: id, name: name})
	r.res.Created = append(r.res.Created, name)
	r.mu.Unlock()
	if r.o.Journal == nil {
		return nil
	}
	if err := r.o.Journal.Created(ctx, JournalObject{Kind: kind, Name: name, ID: id}); err != nil {
		return fmt.Errorf("recording %s %s in the journal: %w", kind, name, err)
	}
	return nil
}

func (r *run) network(ctx context.Context, ch diff.Change) error {
	switch ch.Action {
	case diff.ActionCreate:
	case diff.ActionReplace:
		// A network cannot change in place: it goes, and comes back with
		// the new options. Removal fails while services use it.
		if err := r.c.RemoveNetwork(ctx, ch.Live.ID); err != nil {
			return fmt.Errorf("replacing network %s: %w", ch.Name, err)
		}
		r.res.Removed = append(r.res.Removed, ch.Name)
	case diff.ActionUpdate:
		return fmt.Errorf("network %s: networks cannot be updated in place", ch.Name)
	default:
		return nil
	}
	id, err := r.c.CreateNetwork(ctx, ch.Network.Name, ch.Network.Create)
	if err != nil {
		return err
	}
	return r.recordCreated(ctx, diff.KindNetwork, id, ch.Name)
}

func (r *run) secret(ctx context.Context, ch diff.Change) error {
	s := ch.Secret
	switch ch.Action {
	case diff.ActionCreate:
		spec := swarm.SecretSpec{Annotations: swarm.Annotations{Name: s.Name, Labels: s.Labels}, Data: s.Data.Bytes()}
		if s.Driver != "" {
			spec.Driver = &swarm.Driver{Name: s.Driver, Options: s.DriverOpts}
		}
		if s.TemplateDriver != "" {
			spec.Templating = &swarm.Driver{Name: s.TemplateDriver}
		}
		id, err := r.c.CreateSecret(ctx, spec)
		if err != nil {
			return err
		}
		r.secretIDs[s.Name] = id
		return r.recordCreated(ctx, diff.KindSecret, id, ch.Name)
	case diff.ActionUpdate:
		// Only labels can change on a secret (adopting one docker created).
		spec := swarm.SecretSpec{Annotations: swarm.Annotations{Name: s.Name, Labels: s.Labels}}
		if err := r.c.UpdateSecret(ctx, ch.Live.ID, ch.Live.Version, spec); err != nil {
			return err
		}
		r.res.Updated = append(r.res.Updated, ch.Name)
	case diff.ActionReplace:
		return fmt.Errorf("secret %s: content changed under the same name; secrets are immutable", ch.Name)
	}
	return nil
}

func (r *run) config(ctx context.Context, ch diff.Change) error {
	s := ch.Config
	switch ch.Action {
	case diff.ActionCreate:
		spec := swarm.ConfigSpec{Annotations: swarm.Annotations{Name: s.Name, Labels: s.Labels}, Data: s.Data.Bytes()}
		if s.TemplateDriver != "" {
			spec.Templating = &swarm.Driver{Name: s.TemplateDriver}
		}
		id, err := r.c.CreateConfig(ctx, spec)
		if err != nil {
			return err
		}
		r.configIDs[s.Name] = id
		return r.recordCreated(ctx, diff.KindConfig, id, ch.Name)
	case diff.ActionUpdate:
		spec := swarm.ConfigSpec{Annotations: swarm.Annotations{Name: s.Name, Labels: s.Labels}}
		if err := r.c.UpdateConfig(ctx, ch.Live.ID, ch.Live.Version, spec); err != nil {
			return err
		}
		r.res.Updated = append(r.res.Updated, ch.Name)
	case diff.ActionReplace:
		return fmt.Errorf("config %s: content changed under the same name; configs are immutable", ch.Name)
	}
	return nil
}

// fail handles a failed deploy as Options.OnFailure says.
func (r *run) fail(ctx context.Context, cause error) (*Result, error) {
	fe := &FailedError{Stack: r.plan.Stack, Err: cause}
	switch {
	case ctx.Err() != nil:
		fe.Kind = FailureInterrupted
		return &r.res, fe
	case r.o.OnFailure == Pause || r.o.Detach:
		fe.Kind = FailurePaused
		return &r.res, fe
	}
	rctx, cancel := context.WithTimeout(ctx, r.o.ProgressDeadline+time.Minute)
	defer cancel()
	fe.Kind = FailureRolledBack
	if fe.RollbackErr = r.rollback(rctx); fe.RollbackErr != nil {
		fe.Kind = FailureRollbackFailed
	}
	fe.RolledBack = r.res.RolledBack
	return &r.res, fe
}

// joinErrs is errors.Join that keeps nil for no errors.
func joinErrs(errs []error) error { return errors.Join(errs...) }
