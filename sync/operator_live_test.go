package sync

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/environments"
)

// progressRunner reports one convergence step in every pass.
type progressRunner struct{ *fakeRunner }

func (r progressRunner) Sync(ctx context.Context, env string, o Options) (*Report, error) {
	if o.Progress != nil {
		o.Progress([]apply.Status{{Service: "s-" + env + "_web", Phase: apply.PhaseUpdating, Desired: 1}})
	}
	return r.fakeRunner.Sync(ctx, env, o)
}

// liveRecorder is what the dashboard's live view is to the operator.
type liveRecorder struct {
	mu     gosync.Mutex
	events []string
}

func (l *liveRecorder) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, s)
}

func (l *liveRecorder) PassStarted(env string, t Trigger) { l.add(fmt.Sprintf("start %s %s", env, t)) }
func (l *liveRecorder) PassFinished(ev PassEvent) {
	l.add(fmt.Sprintf("finish %s %s", ev.Environment, ev.Trigger))
}
func (l *liveRecorder) progress(env string, st []apply.Status) {
	l.add(fmt.Sprintf("progress %s %s %s", env, st[0].Service, st[0].Phase))
}

func (l *liveRecorder) list() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.events)
}

var _ StartObserver = (*liveRecorder)(nil)

func TestOperatorTellsStartsAndProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{"dev": {Repo: "shop", Schedule: "@every 1h"}})
		rec := &liveRecorder{}
		o := noJitter
		o.Observers = []Observer{rec}
		o.Progress = rec.progress
		op := NewOperator(progressRunner{f}, o)
		stop := start(t, op)
		synctest.Wait()
		if _, err := op.Rollback(t.Context(), "dev", "abc1234"); err != nil {
			t.Fatal(err)
		}
		if err := op.Resume(t.Context(), "dev"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		want := "[start dev schedule progress dev s-dev_web updating finish dev schedule " +
			"start dev rollback finish dev rollback " +
			"start dev resume start dev resume progress dev s-dev_web updating finish dev resume]"
		if got := rec.list(); got != want {
			t.Errorf("live events\n got %s\nwant %s", got, want)
		}
		stop()
	})
}

func TestOperatorNextSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{
			"dev":  {Repo: "shop", Schedule: "@every 1m"},
			"blog": {Repo: "blog", Schedule: "@every 5s"},
		})
		op := NewOperator(f, noJitter)
		began := time.Now()
		stop := start(t, op)
		synctest.Wait()
		if got := op.NextSync("dev"); !got.Equal(began.Add(time.Minute)) {
			t.Errorf("dev's next sync %s, want a minute after the start (%s)", got, began.Add(time.Minute))
		}
		if got := op.NextSync("nope"); !got.IsZero() {
			t.Errorf("an unknown environment's next sync is %s", got)
		}
		// A failing remote backs blog off 10s: the tick at 5s skips it.
		f.mu.Lock()
		f.tipsErr = errors.New("dial tcp: connection refused")
		f.mu.Unlock()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		failedAt := time.Now()
		if got := op.NextSync("blog"); !got.Equal(failedAt.Add(10 * time.Second)) {
			t.Errorf("blog's next sync after a failure is %s, want the retry at %s", got, failedAt.Add(10*time.Second))
		}
		stop()
		if got := op.NextSync("dev"); !got.IsZero() {
			t.Errorf("a stopped operator's next sync is %s", got)
		}
	})
}
