package server

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	gosync "sync"
	"time"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

// EventKind is what a notification is about.
type EventKind string

const (
	DeploySucceeded   EventKind = "deploy_succeeded"
	DeployFailed      EventKind = "deploy_failed"
	DeployPaused      EventKind = "deploy_paused"
	RolledBack        EventKind = "rolled_back"
	DriftDetected     EventKind = "drift_detected"
	CommitQuarantined EventKind = "commit_quarantined"
	// StackDegraded: Swarm reports a service of the stack failing;
	// StackHealthy: it recovered.
	StackDegraded EventKind = "stack_degraded"
	StackHealthy  EventKind = "stack_healthy"
)

// filterName is the name a notification's events: list uses for k (see
// environments' notificationEvents). A quarantine follows a failed deploy,
// so it goes where failures go.
func (k EventKind) filterName() string {
	switch k {
	case DeploySucceeded, StackHealthy:
		return "succeeded"
	case RolledBack:
		return "rolledBack"
	case DeployPaused:
		return "paused"
	case DriftDetected:
		return "drift"
	}
	return "failed"
}

// EventOf is the event a recorded pass's outcome announces.
func EventOf(o sync.Outcome) EventKind {
	switch o {
	case sync.Succeeded:
		return DeploySucceeded
	case sync.RolledBack:
		return RolledBack
	case sync.Paused:
		return DeployPaused
	}
	return DeployFailed
}

// Event is one notification; generic webhooks receive it as JSON.
type Event struct {
	Kind        EventKind `json:"kind"`
	Environment string    `json:"environment"`
	Stack       string    `json:"stack"`
	Commit      Commit    `json:"commit"`
	Message     string    `json:"message"`
	Time        time.Time `json:"time"`
}

// Notifier delivers events to the configured targets. Each target has its
// own goroutine and bounded queue, so a slow or failing target delays
// neither syncing nor the other targets.
type Notifier struct {
	targets []*target
	wg      gosync.WaitGroup
	// stop cancels deliveries in flight when Close runs out of time.
	stop context.CancelFunc
}

// Tuning; tests shorten them.
const (
	notifyQueue    = 100
	notifyAttempts = 3
	notifyTimeout  = 5 * time.Second
	notifyBackoff  = time.Second // doubled after each failed attempt
)

// NewNotifier starts one sender per configured notification; they live
// until Close, or until ctx ends (which abandons undelivered events).
// client may be nil for a default one.
func NewNotifier(ctx context.Context, list []*environments.Notification, client *http.Client, m *Metrics, log *slog.Logger) *Notifier {
	if client == nil {
		client = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(ctx)
	n := &Notifier{stop: stop}
	for _, cfg := range list {
		t := &target{cfg: cfg, client: client, metrics: m, name: targetName(cfg),
			attempts: notifyAttempts, timeout: notifyTimeout, backoff: notifyBackoff,
			queue: newQueue(notifyQueue)}
		t.log = log.With("notification", t.name)
		n.targets = append(n.targets, t)
		n.wg.Go(func() { t.run(ctx) })
	}
	return n
}

// Notify queues e for every target whose filters take it and returns at
// once; it does no I/O, hence no context. A full queue drops its oldest event, counted as "dropped".
func (n *Notifier) Notify(e Event) {
	if n == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	for _, t := range n.targets {
		if t.wants(e) && t.queue.push(e) {
			t.metrics.notification(t.name, "dropped")
			t.log.Warn("notification queue full: dropped the oldest event")
		}
	}
}

// Close stops taking events and waits, until ctx ends, for the queued ones
// to be delivered; then it abandons the rest.
func (n *Notifier) Close(ctx context.Context) error {
	if n == nil {
		return nil
	}
	for _, t := range n.targets {
		t.queue.close()
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		n.stop()
		return nil
	case <-ctx.Done():
		n.stop()
		<-done
		return ctx.Err()
	}
}

func (t *target) wants(e Event) bool {
	c := t.cfg
	return (len(c.Environments) == 0 || slices.Contains(c.Environments, e.Environment)) &&
		(len(c.Events) == 0 || slices.Contains(c.Events, e.Kind.filterName()))
}

// queue is a bounded FIFO that drops its oldest entry when full.
type queue struct {
	mu     gosync.Mutex
	items  []Event
	max    int
	closed bool
	wake   chan struct{}
}

func newQueue(max int) *queue { return &queue{max: max, wake: make(chan struct{}, 1)} }

// push adds e and reports whether the oldest entry was dropped for it.
func (q *queue) push(e Event) (dropped bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	if len(q.items) == q.max {
		q.items, dropped = q.items[1:], true
	}
	q.items = append(q.items, e)
	q.signal()
	return dropped
}

func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next waits for an event; false once closed and drained, or ctx ended.
func (q *queue) next(ctx context.Context) (Event, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			e := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			return e, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return Event{}, false
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return Event{}, false
		}
	}
}
