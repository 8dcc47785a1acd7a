package server

import (
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/sync"
)

// Live is what the dashboard shows as it happens: the passes running now
// with their progress, each environment's last plan, and a stream of
// events (pass started, progress, finished, drift) for the browsers that
// watch. The operator feeds it as an Observer, a sync.StartObserver and
// its Progress function.
type Live struct {
	now func() time.Time

	mu      gosync.Mutex
	subs    map[*subscriber]struct{}
	running map[string]*livePass
	plans   map[string]*lastPlan
	// seen is the fingerprint of each environment's last finished pass:
	// a pass that found what the one before found refreshes no page.
	seen map[string]string
	// seq counts the events after which a page is out of date; a browser
	// that (re)connects with an older number refreshes.
	seq uint64
}

// livePass is a pass under way.
type livePass struct {
	Trigger  sync.Trigger
	Since    time.Time
	Services []progressService
}

// progressService is one service's convergence while a deploy waits.
type progressService struct {
	Service string      `json:"service"`
	Phase   apply.Phase `json:"phase"`
	Running int         `json:"running"`
	Desired int         `json:"desired"`
	Job     bool        `json:"job,omitempty"`
	Reason  string      `json:"reason,omitempty"`
}

// lastPlan is the plan of an environment's last pass that had changes.
type lastPlan struct {
	At       time.Time
	Trigger  sync.Trigger
	Commit   Commit
	Outcome  string
	Summary  string
	Changes  []Change // without desired objects; masked when shown
	Warnings []string
}

// liveEvent is one message of the event stream.
type liveEvent struct {
	Kind     string            `json:"kind"` // started, progress, finished, drift, resync
	Env      string            `json:"env,omitempty"`
	Time     time.Time         `json:"time"`
	Trigger  sync.Trigger      `json:"trigger,omitempty"`
	Services []progressService `json:"services,omitempty"`
	// finished: what the pass did, in words; its commit; its error.
	Outcome string `json:"outcome,omitempty"`
	Failed  bool   `json:"failed,omitempty"`
	Commit  string `json:"commit,omitempty"`
	Error   string `json:"error,omitempty"`
	Took    string `json:"took,omitempty"`
	// Health is the stack's health the pass saw; Drift its drifted
	// objects.
	Health apply.HealthState `json:"health,omitempty"`
	Drift  int               `json:"drift,omitempty"`
	// Refresh: the environment's page is out of date; Seq numbers such
	// events.
	Refresh bool   `json:"refresh,omitempty"`
	Seq     uint64 `json:"-"`
}

// subscriber is one browser's stream. Its channel is closed when it falls
// behind: the browser reconnects and refreshes.
type subscriber struct {
	ch  chan liveEvent
	env string // only this environment's events; "" for all
}

// subscriberBuffer is how many events a slow browser may lag behind.
const subscriberBuffer = 256

// NewLive makes an empty Live.
func NewLive() *Live {
	return &Live{now: time.Now, subs: map[*subscriber]struct{}{}, running: map[string]*livePass{},
		plans: map[string]*lastPlan{}, seen: map[string]string{}}
}

var (
	_ sync.Observer      = (*Live)(nil)
	_ sync.StartObserver = (*Live)(nil)
)

// PassStarted marks env's pass as running.
func (l *Live) PassStarted(env string, t sync.Trigger) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.running[env] = &livePass{Trigger: t, Since: now}
	l.publishLocked(liveEvent{Kind: "started", Env: env, Time: now, Trigger: t})
}

// Progress records the convergence of env's running deploy: the
// operator's OperatorOptions.Progress.
func (l *Live) Progress(env string, st []apply.Status) {
	services := make([]progressService, len(st))
	for i, s := range st {
		services[i] = progressService{Service: s.Service, Phase: s.Phase, Running: s.Running, Desired: s.Desired,
			Job: s.Job, Reason: s.Reason}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.running[env]
	if p == nil {
		// A pass started before this Live was told (cannot happen with
		// the operator's order, but a lost start must not lose progress).
		p = &livePass{Since: l.now()}
		l.running[env] = p
	}
	p.Services = services
	l.publishLocked(liveEvent{Kind: "progress", Env: env, Time: l.now(), Trigger: p.Trigger, Services: services})
}

// PassFinished ends env's running pass and publishes what it did.
func (l *Live) PassFinished(pe sync.PassEvent) {
	env, rep := pe.Environment, pe.Report
	ev := liveEvent{Kind: "finished", Env: env, Time: l.now(), Trigger: pe.Trigger, Took: pe.Took.Round(100 * time.Millisecond).String()}
	switch {
	case rep != nil && rep.Record != nil:
		ev.Outcome, ev.Failed, ev.Error = string(rep.Record.Outcome), rep.Record.Failed(), rep.Record.Error
	case pe.Err != nil:
		ev.Outcome, ev.Failed = "error", true
	case rep != nil && rep.SkipMessage != "":
		ev.Outcome = rep.SkipMessage
	case rep != nil:
		ev.Outcome = string(rep.Skip)
	}
	if pe.Err != nil && ev.Error == "" {
		ev.Error = pe.Err.Error()
	}
	var plan *lastPlan
	if rep != nil {
		ev.Commit = CommitOf(rep.Commit).Short()
		if rep.Health != nil {
			ev.Health = rep.Health.State
		}
		if rep.Drift {
			ev.Drift = len(changed(rep.Plan))
		}
		if rep.Plan.HasChanges() {
			plan = &lastPlan{At: ev.Time, Trigger: pe.Trigger, Commit: CommitOf(rep.Commit), Outcome: ev.Outcome,
				Summary: rep.Plan.Summary().String(), Changes: planChanges(rep.Plan), Warnings: rep.Plan.Warnings}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.running, env)
	if plan != nil {
		l.plans[env] = plan
	}
	key := fingerprint(ev, rep)
	ev.Refresh = l.seen[env] != key
	l.seen[env] = key
	l.publishLocked(ev)
	if ev.Drift > 0 {
		l.publishLocked(liveEvent{Kind: "drift", Env: env, Time: ev.Time, Drift: ev.Drift, Commit: ev.Commit, Refresh: ev.Refresh})
	}
}

// fingerprint is what a page shows of a finished pass: a pass that finds
// the same again (an unchanged scheduled poll) refreshes nothing.
func fingerprint(ev liveEvent, rep *sync.Report) string {
	seq := int64(-1)
	if rep != nil && rep.Record != nil {
		seq = rep.Record.Seq
	}
	return fmt.Sprintf("%s|%s|%s|%s|%d|%d", ev.Outcome, ev.Commit, ev.Error, ev.Health, ev.Drift, seq)
}

// planChanges keeps a plan's changes without their desired objects.
func planChanges(p diff.Plan) []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Action == diff.ActionNoop {
			continue
		}
		out = append(out, Change{Kind: c.Kind, Name: c.Name, Action: c.Action, Effect: c.Effect, Fields: c.Fields, Reasons: c.Reasons})
	}
	return out
}

// publishLocked numbers ev when it makes pages stale and hands it to every
// subscriber that wants it; l.mu is held.
func (l *Live) publishLocked(ev liveEvent) {
	if ev.Refresh {
		l.seq++
		ev.Seq = l.seq
	}
	for s := range l.subs {
		if s.env != "" && s.env != ev.Env {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			// Too far behind: drop it; its browser reconnects and
			// refreshes from its last event number.
			close(s.ch)
			delete(l.subs, s)
		}
	}
}

// subscribe starts a stream of env's events ("" for every environment).
// It returns the running passes to show first and the current event
// number.
func (l *Live) subscribe(env string) (*subscriber, []liveEvent, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &subscriber{ch: make(chan liveEvent, subscriberBuffer), env: env}
	l.subs[s] = struct{}{}
	var snapshot []liveEvent
	for name, p := range l.running {
		if env != "" && name != env {
			continue
		}
		snapshot = append(snapshot, liveEvent{Kind: "started", Env: name, Time: p.Since, Trigger: p.Trigger})
		if p.Services != nil {
			snapshot = append(snapshot, liveEvent{Kind: "progress", Env: name, Time: p.Since, Trigger: p.Trigger, Services: p.Services})
		}
	}
	return s, snapshot, l.seq
}

func (l *Live) unsubscribe(s *subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.subs[s]; ok {
		delete(l.subs, s)
		close(s.ch)
	}
}

// state is what a page shows of env now: its running pass (a copy) and
// last plan, and the event number the page is current with.
func (l *Live) state(env string) (running *livePass, plan *lastPlan, seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.running[env]; p != nil {
		c := *p
		running = &c
	}
	return running, l.plans[env], l.seq
}

// seqNow is the current event number.
func (l *Live) seqNow() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq
}

// progressLine says a running pass's progress in one line, e.g.
// "shop_web 1/2 updating".
func progressLine(p *livePass) string {
	if p == nil || len(p.Services) == 0 {
		return ""
	}
	parts := make([]string, 0, len(p.Services))
	for _, s := range p.Services {
		parts = append(parts, fmt.Sprintf("%s %d/%d %s", s.Service, s.Running, s.Desired, s.Phase))
	}
	return strings.Join(parts, ", ")
}
