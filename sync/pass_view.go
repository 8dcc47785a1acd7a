package sync

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/stack"
)

// A pass first looks, without the stack's lease: what the cluster runs,
// read from the engine or from the snapshot its tick shares with every
// other pass on the cluster. A look that finds nothing to write — the
// commit is deployed, nothing drifted or drift is only reported, the
// stack is healthy — ends the pass: an idle tick costs no Docker write
// and, with a snapshot, no read of its own. Where a look would write, it
// stops with errMustWrite and the pass is made again from the start, from
// the engine, under the lease: a snapshot only ever decides that there is
// nothing to do.

// errMustWrite stops a look where the pass would write.
var errMustWrite = errors.New("the pass must write: it is made again under the stack's lease")

// reader is what a pass reads the cluster through: *cluster.Docker, or a
// *cluster.Snapshot of it.
type reader interface {
	ReadStack(ctx context.Context, name string) (*stack.Live, error)
	StackTasks(ctx context.Context, name string) ([]swarm.Service, []swarm.Task, error)
	ConfigsByLabel(ctx context.Context, label string) ([]swarm.Config, error)
}

var (
	_ reader = (*cluster.Docker)(nil)
	_ reader = (*cluster.Snapshot)(nil)
)

// view is how one pass sees the cluster.
type view struct {
	d *cluster.Docker // the engine: image resolution and every write
	r reader          // reads: d, or the tick's snapshot
	// hist reads (and, unless look, writes) the history and pins.
	hist *History
	// look: the pass may not write; store refuses writes.
	look  bool
	store configStore
	// ahead is the stack read sent ahead of its use, if any.
	ahead *stackRead
	// named: the engine's stacks are read by name (ReadStackNamed), with
	// misnamed, the services an earlier snapshot found labelled for the
	// stack under other names.
	named    bool
	misnamed []string
}

// read reads a stack's live objects from v.r.
func (v *view) read(ctx context.Context, name string) (*stack.Live, error) {
	if v.named && v.r == reader(v.d) {
		return v.d.ReadStackNamed(ctx, name, v.misnamed)
	}
	return v.r.ReadStack(ctx, name)
}

// stackRead is one ReadStack under way.
type stackRead struct {
	stack string
	done  chan struct{}
	live  *stack.Live
	err   error
}

// readAhead sends the read of a stack that the pass will plan against now,
// so that it runs beside the pass's other reads and its render: on a
// manager with thousands of services it is the slowest of them.
func (v *view) readAhead(ctx context.Context, name string) {
	rd := &stackRead{stack: name, done: make(chan struct{})}
	v.ahead = rd
	go func() {
		defer close(rd.done)
		rd.live, rd.err = v.read(ctx, name)
	}()
}

// readStack reads a stack's live objects: the read sent ahead the first
// time, afresh after.
func (v *view) readStack(ctx context.Context, name string) (*stack.Live, error) {
	if rd := v.ahead; rd != nil && rd.stack == name {
		v.ahead = nil
		select {
		case <-rd.done:
			return rd.live, rd.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return v.read(ctx, name)
}

// engineView reads and writes through d: a pass under the lease, or a dry
// run.
func engineView(d *cluster.Docker, hist *History) *view {
	return &view{d: d, r: d, hist: hist, store: d}
}

// lookView is the view of a look: the snapshot of e's cluster taken at or
// after since when since is set and this process has not written to the
// stack since that snapshot began; else the engine, read for this stack
// alone.
func (s *Syncer) lookView(ctx context.Context, e *environments.Environment, d *cluster.Docker, since time.Time) (*view, error) {
	var r reader = d
	if !since.IsZero() {
		snap, err := s.snapshot(ctx, e, d, since)
		if err != nil {
			return nil, &RetryError{Err: fmt.Errorf("environment %s: %w", e.Name, err)}
		}
		if snap != nil {
			r = snap
		}
	}
	store := readOnly{r}
	hist := NewHistory(store, s.cfg.History.Limit)
	hist.Log = s.log
	return &view{d: d, r: r, hist: hist, look: true, store: store}, nil
}

// readOnly is a config store that reads and refuses to write: a look that
// reaches a write stops there.
type readOnly struct{ reader }

func (readOnly) CreateConfig(context.Context, swarm.ConfigSpec) (string, error) {
	return "", errMustWrite
}
func (readOnly) RemoveConfig(context.Context, string) error { return errMustWrite }

// snapshots share one read of each cluster among the passes of a tick, and
// remember when this process last wrote to each stack: a snapshot begun
// before that write ended does not show it, and is not used for that stack.
type snapshots struct {
	mu      gosync.Mutex
	reads   map[string]*snapshotRead // by cluster
	written map[string]time.Time     // by cluster and stack
	// misnamed is the last snapshot's Snapshot.AllMisnamed, by cluster: it
	// outlives the snapshot (see snapshotKeep).
	misnamed map[string]map[string][]string
}

// snapshotKeep is how long a snapshot is kept for the passes of its tick
// once read. A snapshot holds every service, task, secret and config of a
// cluster (tens of MB with thousands of services): kept until the next
// tick, it would double the memory the next one needs. A pass of the tick
// that comes later reads a snapshot of its own.
var snapshotKeep = 15 * time.Second

type snapshotRead struct {
	started time.Time
	done    chan struct{}
	snap    *cluster.Snapshot
	err     error
}

func writtenKey(e *environments.Environment) string { return e.Cluster.Name + "\x00" + e.Stack }

// markWritten notes that this process has just finished writing to e's
// stack.
func (s *Syncer) markWritten(e *environments.Environment) {
	s.snaps.mu.Lock()
	defer s.snaps.mu.Unlock()
	s.snaps.written[writtenKey(e)] = time.Now()
}

// writerView is the view of a pass under the lease. When this process has
// read e's cluster whole (a tick's snapshot), the stack's services are
// listed by name, which costs the engine far less than by label on a
// manager with thousands of services; the last snapshot only says which
// services are labelled for the stack under other names. One created that
// way after the snapshot is seen by the next tick's.
func (s *Syncer) writerView(e *environments.Environment, d *cluster.Docker, hist *History) *view {
	v := engineView(d, hist)
	s.snaps.mu.Lock()
	misnamed, ok := s.snaps.misnamed[e.Cluster.Name]
	s.snaps.mu.Unlock()
	if ok {
		v.named, v.misnamed = true, misnamed[e.Stack]
	}
	return v
}

// forget drops rd, if it is still cluster's snapshot.
func (sn *snapshots) forget(cluster string, rd *snapshotRead) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.reads[cluster] == rd {
		delete(sn.reads, cluster)
	}
}

// snapshot returns a snapshot of e's cluster begun at or after since,
// reading one if there is none: concurrent callers share one read. It
// returns nil when this process wrote to e's stack after that snapshot
// began: the pass then reads its stack itself.
func (s *Syncer) snapshot(ctx context.Context, e *environments.Environment, d *cluster.Docker, since time.Time) (*cluster.Snapshot, error) {
	s.snaps.mu.Lock()
	wrote := s.snaps.written[writtenKey(e)]
	rd := s.snaps.reads[e.Cluster.Name]
	fresh := rd == nil || rd.started.Before(since)
	if fresh {
		rd = &snapshotRead{started: time.Now(), done: make(chan struct{})}
		s.snaps.reads[e.Cluster.Name] = rd
	}
	s.snaps.mu.Unlock()
	if fresh {
		// Read for every waiter: one of them leaving does not end it (each
		// request is bounded by cluster.RequestTimeout).
		rd.snap, rd.err = d.ReadSnapshot(context.WithoutCancel(ctx))
		s.snaps.mu.Lock()
		if rd.err != nil {
			if s.snaps.reads[e.Cluster.Name] == rd {
				delete(s.snaps.reads, e.Cluster.Name) // the next pass tries again
			}
		} else {
			if s.snaps.misnamed == nil {
				s.snaps.misnamed = map[string]map[string][]string{}
			}
			s.snaps.misnamed[e.Cluster.Name] = rd.snap.AllMisnamed()
			time.AfterFunc(snapshotKeep, func() { s.snaps.forget(e.Cluster.Name, rd) })
		}
		s.snaps.mu.Unlock()
		close(rd.done)
	}
	select {
	case <-rd.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if rd.err != nil {
		return nil, rd.err
	}
	if !rd.started.After(wrote) {
		return nil, nil
	}
	return rd.snap, nil
}
