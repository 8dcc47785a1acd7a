package sync

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/flotilla-gitops/flotilla/environments"
)

func TestOperatorPollsOnIntervalWithBoundedJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRunner(t, map[string]*environments.EnvironmentSpec{
			"dev": {Repo: "shop", Interval: 30 * time.Second},
		})
		// An hour of jitter would hold a poll back for up to an hour; an
		// interval caps it at a tenth of itself, 3s here.
		stop := start(t, NewOperator(f, OperatorOptions{MaxJitter: time.Hour}))
		synctest.Wait()
		if listings, _ := f.counts(); listings["shop"] != 1 {
			t.Fatalf("at start: %d listings, want 1", listings["shop"])
		}
		for i, at := range []int{2, 3, 4} {
			time.Sleep(30 * time.Second)
			if i == 0 {
				time.Sleep(3 * time.Second)
			}
			synctest.Wait()
			if listings, _ := f.counts(); listings["shop"] != at {
				t.Fatalf("after %d intervals and at most 3s of jitter: %d listings, want %d", i+1, listings["shop"], at)
			}
		}
		stop()
	})
}

func TestJitterForAnIntervalIsATenthAtMost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		interval, max, want time.Duration
	}{
		{0, 5 * time.Second, 5 * time.Second}, // a cron schedule
		{5 * time.Second, 5 * time.Second, 500 * time.Millisecond},
		{time.Minute, 5 * time.Second, 5 * time.Second},
		{time.Hour, 5 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		e := &environments.Environment{Interval: tt.interval}
		if got := jitterFor(e, tt.max); got != tt.want {
			t.Errorf("jitterFor(interval %s, max %s) = %s, want %s", tt.interval, tt.max, got, tt.want)
		}
	}
}
