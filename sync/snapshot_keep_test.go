package sync

import (
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// The passes of a tick share one snapshot; it is dropped snapshotKeep after
// its read, leaving only the small index of misnamed services, and a pass
// that comes after that reads a snapshot of its own.
func TestSnapshotIsDroppedAfterItsTick(t *testing.T) {
	keep := snapshotKeep
	snapshotKeep = 200 * time.Millisecond
	t.Cleanup(func() { snapshotKeep = keep })

	s := New(&environments.Config{}, nil)
	e := &environments.Environment{Name: "dev", Stack: swarmtest.Stack(t), Cluster: &environments.Cluster{Name: "local"}}
	d := cluster.NewFromClient(swarmtest.Client(t))
	tick := time.Now()
	first, err := s.snapshot(t.Context(), e, d, tick)
	if err != nil || first == nil {
		t.Fatalf("snapshot: %v, %v", first, err)
	}
	if again, err := s.snapshot(t.Context(), e, d, tick); err != nil || again != first {
		t.Fatalf("a second pass of the tick got snapshot %p (%v), want the tick's %p", again, err, first)
	}
	swarmtest.Eventually(t, 10*time.Second, func() (bool, string, error) {
		s.snaps.mu.Lock()
		defer s.snaps.mu.Unlock()
		return s.snaps.reads["local"] == nil, "the tick's snapshot is still kept", nil
	})
	if v := s.writerView(e, d, nil); !v.named {
		t.Error("once the snapshot is dropped, a writer no longer reads its stack by name")
	}
	later, err := s.snapshot(t.Context(), e, d, tick)
	if err != nil || later == nil || later == first || !later.Started.After(first.Started) {
		t.Errorf("a pass of the tick after the snapshot was dropped got %p (%v), want a new read", later, err)
	}
}
