package sync

import (
	"context"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flotilla-gitops/flotilla/environments"
)

// sinceRunner records the Since each pass was given.
type sinceRunner struct {
	*fakeRunner
	mu    gosync.Mutex
	since map[string][]time.Time
}

func (r *sinceRunner) Sync(ctx context.Context, env string, o Options) (*Report, error) {
	r.mu.Lock()
	r.since[env] = append(r.since[env], o.Since)
	r.mu.Unlock()
	return r.fakeRunner.Sync(ctx, env, o)
}

// The environments of one schedule tick together, whatever their
// repository: their passes get the same Since, so they share one read of
// their cluster; the next tick's is later; a webhook's pass reads alone.
func TestOperatorTickSharesOneSincePerSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &sinceRunner{fakeRunner: newFakeRunner(t, map[string]*environments.EnvironmentSpec{
			"dev":  {Repo: "shop", Schedule: "@every 1m"},
			"test": {Repo: "shop", Schedule: "@every 1m"},
			"blog": {Repo: "blog", Schedule: "@every 1m"},
		}), since: map[string][]time.Time{}}
		// With a jitter, ticks of separate groups would start apart.
		op := NewOperator(r, OperatorOptions{MaxJitter: 5 * time.Second})
		stop := start(t, op)
		synctest.Wait()
		time.Sleep(time.Minute + 6*time.Second)
		synctest.Wait()
		if err := op.Trigger("dev", TriggerWebhook, false); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		stop()
		r.mu.Lock()
		defer r.mu.Unlock()
		listings, _ := r.counts()
		if listings["shop"] != 2 || listings["blog"] != 2 {
			t.Errorf("listings %v over two ticks, want two per repository", listings)
		}
		first, second := r.since["dev"][0], r.since["dev"][1]
		for _, env := range []string{"dev", "test", "blog"} {
			got := r.since[env]
			if len(got) < 2 || !got[0].Equal(first) || !got[1].Equal(second) {
				t.Errorf("%s's passes had Since %v, want %v then %v like dev's", env, got, first, second)
			}
		}
		if first.IsZero() || !second.After(first) {
			t.Errorf("ticks' Since %v then %v: want set, and later for the later tick", first, second)
		}
		if got := r.since["dev"]; len(got) != 3 || !got[2].IsZero() {
			t.Errorf("dev's passes had Since %v: want the webhook's pass to read its stack itself (zero)", got)
		}
	})
}

func TestCoalescedPassesKeepTheFreshestRead(t *testing.T) {
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Minute)
	for _, tt := range []struct{ a, b, want time.Time }{
		{t1, t2, t2}, {t2, t1, t2}, {t1, time.Time{}, time.Time{}}, {time.Time{}, t2, time.Time{}},
	} {
		if got := coalescedSince(tt.a, tt.b); !got.Equal(tt.want) {
			t.Errorf("coalescedSince(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
