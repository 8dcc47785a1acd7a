package sync

import (
	"math/rand/v2"
	"slices"
	gosync "sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/flotilla-gitops/flotilla/environments"
)

// group is the environments polled on one schedule: one tick lists each of
// their repositories once, and the passes of a tick share one read of each
// cluster (Options.Since).
type group struct {
	schedule string
	repos    []repoGroup
	// jitter is the most a poll is delayed by, so that operators and
	// groups started together don't all list their forge at once.
	jitter time.Duration
}

// jitterFor is MaxJitter, but at most a tenth of an interval: a poll every
// 5s must not wait up to 5s (Flux's interval jitter is a percentage too).
func jitterFor(e *environments.Environment, max time.Duration) time.Duration {
	if e.Interval > 0 {
		return min(max, e.Interval/10)
	}
	return max
}

// repoGroup is a group's environments that deploy from one repository.
type repoGroup struct {
	repo *environments.Repo
	envs []*environments.Environment
}

func (op *Operator) groups() []group {
	cfg := op.runner.Config()
	bySchedule := map[string]*group{}
	var order []string
	for _, name := range cfg.EnvironmentNames() {
		e, err := cfg.Environment(name)
		if err != nil {
			continue // Validate reported it; nothing to schedule
		}
		g := bySchedule[e.Schedule]
		if g == nil {
			g = &group{schedule: e.Schedule, jitter: jitterFor(e, op.o.MaxJitter)}
			bySchedule[e.Schedule] = g
			order = append(order, e.Schedule)
		}
		i := slices.IndexFunc(g.repos, func(r repoGroup) bool { return r.repo.Name == e.Repo.Name })
		if i < 0 {
			g.repos = append(g.repos, repoGroup{repo: e.Repo})
			i = len(g.repos) - 1
		}
		g.repos[i].envs = append(g.repos[i].envs, e)
	}
	out := make([]group, 0, len(order))
	for _, sched := range order {
		out = append(out, *bySchedule[sched])
	}
	return out
}

// startCron (re)creates the schedule; op.mu is held.
func (op *Operator) startCron() error {
	c := cron.New(cron.WithLocation(time.UTC), cron.WithParser(cronParser),
		cron.WithChain(cron.Recover(cron.DiscardLogger), cron.SkipIfStillRunning(cron.DiscardLogger)))
	entries := map[string]cron.EntryID{}
	for _, g := range op.groups() {
		id, err := c.AddFunc(g.schedule, func() { op.poll(g, g.jitter) })
		if err != nil {
			return err
		}
		for _, rg := range g.repos {
			for _, e := range rg.envs {
				entries[e.Name] = id
			}
		}
	}
	op.cron, op.entries = c, entries
	c.Start()
	return nil
}

// poll is one scheduled tick of a group: after a random delay, the
// environments that may sync now have their repositories listed once each
// (and fetched where they moved), all at once, then a pass each. A tick
// that finds nothing new costs one listing per repository, one read of each
// cluster and no Docker writes.
func (op *Operator) poll(g group, jitter time.Duration) {
	if jitter > 0 {
		time.Sleep(rand.N(jitter))
	}
	tick := time.Now()
	var wg gosync.WaitGroup
	for _, rg := range g.repos {
		wg.Go(func() { op.pollRepo(rg, tick) })
	}
	wg.Wait()
}

// pollRepo lists one repository for the environments of a tick that may
// sync now, and queues their passes; a repository that does not answer
// holds up only its own environments.
func (op *Operator) pollRepo(g repoGroup, tick time.Time) {
	op.mu.Lock()
	if op.stopping {
		op.mu.Unlock()
		return
	}
	now := op.now()
	var due []*environments.Environment
	for _, e := range g.envs {
		st := op.envs[e.Name]
		if st == nil || now.Before(st.nextRetry) {
			continue
		}
		open, reason, err := windowState(e.SyncWindows, now)
		if err != nil || !open {
			st.window = reason
			continue
		}
		st.window = ""
		due = append(due, e)
	}
	runner := op.runner
	op.mu.Unlock()
	if len(due) == 0 {
		return
	}
	refs := make([]string, 0, len(due))
	for _, e := range due {
		refs = append(refs, e.Ref)
	}
	started := time.Now()
	tips, listErr := runner.Tips(op.passCtx, g.repo, refs)
	for _, e := range due {
		if err := failureOf(listErr, tips[e.Ref]); err != nil {
			if rerr := runner.RecordFailure(op.passCtx, e.Name, err); rerr != nil {
				op.o.Log.Warn("recording a failed pass", "env", e.Name, "err", rerr)
			}
		}
	}
	var failed []PassEvent
	op.mu.Lock()
	for _, e := range due {
		tip := tips[e.Ref]
		if err := failureOf(listErr, tip); err != nil {
			op.failedLocked(e.Name, err)
			failed = append(failed, newPassEvent(e, TriggerSchedule, nil, err, time.Since(started)))
			continue
		}
		rev := tip.Revision
		o := Options{Trigger: TriggerSchedule, Tip: &rev, Heal: e.SelfHeal == environments.SelfHealHeal, Since: tick}
		if err := op.enqueueLocked(e.Name, &job{kind: jobPass, o: o}); err != nil {
			op.o.Log.Debug("pass not queued", "env", e.Name, "err", err)
		}
	}
	op.mu.Unlock()
	for _, ev := range failed {
		op.notify(ev)
	}
}

// coalescedSince is the Since of two passes coalesced into one: the later
// tick's, or none — the pass reads its stack itself — when either asked
// for that.
func coalescedSince(a, b time.Time) time.Time {
	if a.IsZero() || b.IsZero() {
		return time.Time{}
	}
	if a.After(b) {
		return a
	}
	return b
}

// failureOf is why env's pass can't start: the listing failed for the
// whole repository, or its ref failed.
func failureOf(listErr error, tip Tip) error {
	if listErr != nil {
		return listErr
	}
	return tip.Err
}

// failedLocked backs an environment's automatic passes off after an error:
// 10s, 20s, 40s… up to 5m, so a broken remote is not hammered.
func (op *Operator) failedLocked(env string, err error) {
	st := op.envs[env]
	if st == nil {
		return
	}
	st.lastErr = err
	st.failures++
	backoff := min(10*time.Second<<min(st.failures-1, 10), 5*time.Minute)
	st.nextRetry = op.now().Add(backoff)
	op.o.Log.Warn("pass failed", "env", env, "err", err, "retry_in", backoff)
}

// NextSync is when env's next scheduled poll is due (its jitter aside),
// after the backoff of failed passes; the zero time when none is
// scheduled. A sync window may still hold that poll back.
func (op *Operator) NextSync(env string) time.Time {
	op.mu.Lock()
	defer op.mu.Unlock()
	id, ok := op.entries[env]
	if !ok || op.cron == nil || op.stopping {
		return time.Time{}
	}
	entry := op.cron.Entry(id)
	next := entry.Next
	if st := op.envs[env]; st != nil && entry.Schedule != nil {
		// Polls before the retry time skip env; a fast schedule meets it
		// within a few ticks, a bounded search keeps a pathological one
		// cheap.
		for i := 0; i < 10000 && !next.IsZero() && next.Before(st.nextRetry); i++ {
			next = entry.Schedule.Next(next)
		}
	}
	return next
}
