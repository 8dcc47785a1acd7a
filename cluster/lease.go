package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	gosync "sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// A lease makes one writer per stack: the operator and every command that
// writes to a stack hold it while they do. It lives in the cluster as a
// Docker config named flotilla.lease.STACK. Creating a name that exists
// fails, so of two writers that find no lease only one creates it; a
// config's labels can be updated with the version it was read at and no
// other, so of two writers that find an expired lease only one takes it
// over. The holder and the expiry are labels (a config's data can't
// change); the data names the stack, for readers to check.
const (
	labelLeaseHolder   = "io.flotilla.lease.holder"
	labelLeaseAcquired = "io.flotilla.lease.acquired"
	labelLeaseExpires  = "io.flotilla.lease.expires"
)

// Holder says who holds a lease. ID tells two holders apart even when
// their host and pid look alike (a process restarted in a new container).
type Holder struct {
	ID      string `json:"id"`
	Host    string `json:"host,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Task    string `json:"task,omitempty"`
	Command string `json:"command,omitempty"`
	// PIDNamespace tells whether PID means the same process to another
	// holder: two containers on one host (host network: one hostname) have
	// PID namespaces of their own.
	PIDNamespace string `json:"pidns,omitempty"`
}

// NewHolder describes this process running command ("flotilla run"). The
// swarm task, when Flotilla runs as a service, comes from FLOTILLA_TASK
// (set it to {{.Task.Name}} in the service's environment).
func NewHolder(command string) Holder {
	var b [8]byte
	rand.Read(b[:])
	host, _ := os.Hostname()
	return Holder{ID: hex.EncodeToString(b[:]), Host: host, PID: os.Getpid(), Task: os.Getenv("FLOTILLA_TASK"), Command: command,
		PIDNamespace: pidNamespace()}
}

// gone reports whether the holder is a process on this host that no longer
// exists: a killed `flotilla deploy` need not block the next one until its
// lease expires. A holder elsewhere, or in a swarm task (its own PID
// namespace), is only ever gone at expiry; a reused PID errs on the safe
// side.
func (h Holder) gone() bool {
	host, err := os.Hostname()
	if err != nil || h.Host != host || h.Task != "" || h.PID <= 0 || h.PIDNamespace == "" || h.PIDNamespace != pidNamespace() {
		return false
	}
	return errors.Is(syscall.Kill(h.PID, 0), syscall.ESRCH)
}

// pidNamespace names this process's PID namespace ("" where it can't be
// told).
func pidNamespace() string {
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return ns
}

// String names the holder for people: "flotilla run (pid 42 on node-1)".
func (h Holder) String() string {
	cmd := h.Command
	if cmd == "" {
		cmd = "a writer " + h.ID
	}
	switch {
	case h.Task != "":
		return fmt.Sprintf("%s (task %s on %s)", cmd, h.Task, h.Host)
	case h.Host != "":
		return fmt.Sprintf("%s (pid %d on %s)", cmd, h.PID, h.Host)
	}
	return cmd
}

// LeaseHeldError says another writer holds the stack's lease.
type LeaseHeldError struct {
	Stack   string
	Holder  Holder
	Since   time.Time // when it took the lease
	Expires time.Time // unless it renews
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("stack %s is being deployed by %s since %s (its lease expires at %s unless renewed)",
		e.Stack, e.Holder, e.Since.UTC().Format(time.RFC3339), e.Expires.UTC().Format(time.RFC3339))
}

// LeaseLostError says a holder no longer holds its lease: it expired and
// another writer took it (Holder, when known), or renewals failed until it
// expired (Err). A writer that lost its lease must stop writing.
type LeaseLostError struct {
	Stack  string
	Holder *Holder
	Err    error
}

func (e *LeaseLostError) Error() string {
	switch {
	case e.Holder != nil:
		return fmt.Sprintf("lost the lease on stack %s: %s took it over", e.Stack, e.Holder)
	case e.Err != nil:
		return fmt.Sprintf("lost the lease on stack %s: %v", e.Stack, e.Err)
	}
	return fmt.Sprintf("lost the lease on stack %s: it was released", e.Stack)
}

func (e *LeaseLostError) Unwrap() error { return e.Err }

// Lease is a held lease on one stack.
type Lease struct {
	Stack    string
	Holder   Holder
	Acquired time.Time
	TTL      time.Duration

	d    *Docker
	id   string
	name string

	mu      gosync.Mutex
	version swarm.Version
	expires time.Time
}

// Expires is when the lease ends unless renewed.
func (l *Lease) Expires() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires
}

// LeaseName is the name of stack's lease object.
func LeaseName(stack string) string { return ObjectName("lease", stack, "") }

// leaseState is a lease as read from the cluster.
type leaseState struct {
	id                string
	version           swarm.Version
	holder            Holder
	acquired, expires time.Time
}

type leaseData struct {
	Stack string `json:"stack"`
}

// AcquireLease takes the lease on stack for holder, for ttl. A lease held
// by another holder that has not expired yields a *LeaseHeldError; an
// expired one is taken over, by one writer only.
func (d *Docker) AcquireLease(ctx context.Context, stack string, holder Holder, ttl time.Duration) (*Lease, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("taking the lease on stack %s: the lease needs a duration", stack)
	}
	name := LeaseName(stack)
	for range 5 {
		now := time.Now()
		l := &Lease{Stack: stack, Holder: holder, Acquired: now, TTL: ttl, d: d, name: name, expires: now.Add(ttl)}
		data, err := json.Marshal(leaseData{Stack: stack})
		if err != nil {
			return nil, err
		}
		spec := l.spec()
		spec.Data = data
		resp, err := d.api.ConfigCreate(ctx, spec)
		if err == nil {
			l.id = resp.ID
			if err := l.reread(ctx); err != nil {
				return nil, err
			}
			return l, nil
		}
		if !IsConflict(err) {
			return nil, fmt.Errorf("taking the lease on stack %s: %w", stack, err)
		}
		cur, err := d.readLease(ctx, stack)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			continue // released since: create it again
		}
		if cur.holder.ID != holder.ID && now.Before(cur.expires) && !cur.holder.gone() {
			return nil, &LeaseHeldError{Stack: stack, Holder: cur.holder, Since: cur.acquired, Expires: cur.expires}
		}
		// Expired (or ours from before): take it over, if nobody else
		// updates it first.
		l.id = cur.id
		if cur.holder.ID == holder.ID {
			l.Acquired = cur.acquired
		}
		err = d.api.ConfigUpdate(ctx, cur.id, cur.version, l.spec())
		switch {
		case err == nil:
			if err := l.reread(ctx); err != nil {
				return nil, err
			}
			return l, nil
		case IsOutOfSequence(err) || IsNotFound(err):
			continue // another writer moved first: look again
		default:
			return nil, fmt.Errorf("taking over the expired lease on stack %s: %w", stack, err)
		}
	}
	return nil, fmt.Errorf("taking the lease on stack %s: it kept changing hands", stack)
}

// spec is the lease object's spec as l holds it, without data (an update
// must not send any).
func (l *Lease) spec() swarm.ConfigSpec {
	holder, _ := json.Marshal(l.Holder)
	return swarm.ConfigSpec{Annotations: swarm.Annotations{Name: l.name, Labels: map[string]string{
		LabelManaged:       "true",
		LabelLease:         l.Stack,
		labelLeaseHolder:   string(holder),
		labelLeaseAcquired: l.Acquired.UTC().Format(time.RFC3339Nano),
		labelLeaseExpires:  l.expires.UTC().Format(time.RFC3339Nano),
	}}}
}

// reread takes the version of the object l just wrote, and checks it is
// still l's: the version is what the next renewal must send.
func (l *Lease) reread(ctx context.Context) error {
	cur, err := l.d.readLease(ctx, l.Stack)
	if err != nil {
		return err
	}
	if cur == nil || cur.id != l.id || cur.holder.ID != l.Holder.ID {
		lost := &LeaseLostError{Stack: l.Stack}
		if cur != nil {
			lost.Holder = &cur.holder
		}
		return lost
	}
	l.version = cur.version
	return nil
}

// readLease reads stack's lease object, or nil when there is none. An object
// with the lease's name that Flotilla did not make for this stack is an
// error: nobody can take the lease until a person removes it.
func (d *Docker) readLease(ctx context.Context, stack string) (*leaseState, error) {
	name := LeaseName(stack)
	list, err := d.api.ConfigList(ctx, swarm.ConfigListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelLease+"="+stack))})
	if err != nil {
		return nil, fmt.Errorf("reading the lease on stack %s: %w", stack, err)
	}
	for _, c := range list {
		if c.Spec.Name == name {
			return parseLease(c, stack)
		}
	}
	// Not labelled as our lease: is the name taken by something else?
	c, _, err := d.api.ConfigInspectWithRaw(ctx, name)
	switch {
	case IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the lease on stack %s: %w", stack, err)
	case c.Spec.Name != name:
		return nil, nil // the engine matched an ID prefix
	}
	return nil, foreignLease(name, stack, "it is not labelled "+LabelLease+"="+stack)
}

func foreignLease(name, stack, why string) error {
	return fmt.Errorf("config %s is not Flotilla's lease on stack %s (%s): remove it with `docker config rm %s`", name, stack, why, name)
}

func parseLease(c swarm.Config, stack string) (*leaseState, error) {
	labels := c.Spec.Labels
	if labels[LabelManaged] != "true" {
		return nil, foreignLease(c.Spec.Name, stack, "it is not labelled "+LabelManaged+"=true")
	}
	var data leaseData
	if err := json.Unmarshal(c.Spec.Data, &data); err != nil || data.Stack != stack {
		return nil, foreignLease(c.Spec.Name, stack, "its data does not name the stack")
	}
	s := &leaseState{id: c.ID, version: c.Version}
	if err := json.Unmarshal([]byte(labels[labelLeaseHolder]), &s.holder); err != nil || s.holder.ID == "" {
		return nil, foreignLease(c.Spec.Name, stack, "its holder label is unreadable")
	}
	var err1, err2 error
	s.acquired, err1 = time.Parse(time.RFC3339Nano, labels[labelLeaseAcquired])
	s.expires, err2 = time.Parse(time.RFC3339Nano, labels[labelLeaseExpires])
	if err := errors.Join(err1, err2); err != nil {
		return nil, foreignLease(c.Spec.Name, stack, "its times are unreadable: "+err.Error())
	}
	return s, nil
}

// Renew extends the lease by its TTL from now. Someone else holding it now
// yields a *LeaseLostError; other errors (the engine unreachable) leave the
// lease as it was, to be renewed again before it expires.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for attempt := 0; ; attempt++ {
		prev := l.expires
		l.expires = time.Now().Add(l.TTL)
		err := l.d.api.ConfigUpdate(ctx, l.id, l.version, l.spec())
		if err == nil {
			return l.reread(ctx)
		}
		l.expires = prev
		if !IsOutOfSequence(err) && !IsNotFound(err) {
			return fmt.Errorf("renewing the lease on stack %s: %w", l.Stack, err)
		}
		// Changed since we read it: by another writer, or by our own
		// renewal whose answer was lost on the way.
		if attempt > 0 {
			return &LeaseLostError{Stack: l.Stack, Err: err}
		}
		if err := l.reread(ctx); err != nil {
			return err
		}
	}
}

// Release gives the lease up. It is renewed first, so that nobody can take
// it over between the check and the removal.
func (l *Lease) Release(ctx context.Context) error {
	if err := l.Renew(ctx); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.d.api.ConfigRemove(ctx, l.id); err != nil && !IsNotFound(err) {
		return fmt.Errorf("releasing the lease on stack %s: %w", l.Stack, err)
	}
	return nil
}

// Keep renews the lease every TTL/3 until ctx ends, and returns a context
// for the work done under the lease: it ends with ctx, or as soon as the
// lease is lost — another writer took it over, or renewals failed until it
// expired — and context.Cause then is the *LeaseLostError. Stop waits for
// the renewals to end; call it before Release.
func (l *Lease) Keep(ctx context.Context) (held context.Context, stop func()) {
	held, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		interval := l.TTL / 3
		wait := interval
		for {
			select {
			case <-held.Done():
				return
			case <-time.After(wait):
			}
			err := l.Renew(held)
			if held.Err() != nil {
				return
			}
			var lost *LeaseLostError
			switch {
			case err == nil:
				wait = interval
			case errors.As(err, &lost):
				cancel(err)
				return
			case !time.Now().Before(l.Expires()):
				cancel(&LeaseLostError{Stack: l.Stack, Err: err})
				return
			default:
				// The engine did not answer: try again soon, while the
				// lease still runs.
				wait = max(interval/4, 50*time.Millisecond)
			}
		}
	}()
	return held, func() {
		cancel(context.Canceled)
		<-done
	}
}
