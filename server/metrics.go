package server

import (
	"github.com/flotilla-gitops/flotilla/apply"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the operator's Prometheus series. The loop reports through
// the methods below; the server exposes the registry at /metrics. A nil
// *Metrics records nothing, so tests and tools can pass none.
type Metrics struct {
	gatherer prometheus.Gatherer

	syncDuration  *prometheus.HistogramVec
	gitRequests   *prometheus.CounterVec
	gitDuration   *prometheus.HistogramVec
	engine        *prometheus.CounterVec
	deployed      *prometheus.GaugeVec
	drift         *prometheus.GaugeVec
	health        *prometheus.GaugeVec
	quarantined   *prometheus.GaugeVec
	webhooks      *prometheus.CounterVec
	notifications *prometheus.CounterVec
}

// NewMetrics registers the series with reg. When reg is also a Gatherer (a
// *prometheus.Registry is) the server serves it at /metrics; a private
// registry rather than the global one keeps tests and reloads free of
// duplicate-registration panics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flotilla_sync_duration_seconds",
			Help:    "Duration of reconcile passes, by environment and result.",
			Buckets: []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"environment", "result"}),
		gitRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_git_requests_total",
			Help: "Requests to Git remotes, by kind (list, fetch) and result.",
		}, []string{"kind", "result"}),
		gitDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flotilla_git_request_duration_seconds",
			Help:    "Duration of requests to Git remotes, by kind and result.",
			Buckets: prometheus.DefBuckets,
		}, []string{"kind", "result"}),
		engine: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_engine_requests_total",
			Help: "Requests to Docker engines, by kind: method and path without IDs (\"GET /services\", \"POST /services/{id}/update\").",
		}, []string{"kind"}),
		// The subject is left out: free text would make a series per commit
		// message; the SHA already names the commit.
		deployed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flotilla_deployed_revision_info",
			Help: "The commit each environment runs (always 1).",
		}, []string{"environment", "stack", "sha"}),
		drift: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flotilla_drift",
			Help: "Number of live objects that differ from the deployed commit.",
		}, []string{"environment"}),
		health: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flotilla_stack_health",
			Help: "The stack's health as Swarm reports it: 1 for its state (healthy, progressing, degraded), 0 for the others.",
		}, []string{"environment", "state"}),
		quarantined: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flotilla_quarantined_commits",
			Help: "Commits whose deploy failed and that are not retried automatically.",
		}, []string{"environment"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_webhook_requests_total",
			Help: "Webhook requests, by provider and result.",
		}, []string{"provider", "result"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_notifications_total",
			Help: "Notifications, by target host and result (sent, failed, dropped).",
		}, []string{"target", "result"}),
	}
	reg.MustRegister(m.syncDuration, m.gitRequests, m.gitDuration, m.engine, m.deployed, m.drift, m.health,
		m.quarantined, m.webhooks, m.notifications)
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	return m
}

// ObserveSync records a pass of env that ended with result (an outcome, or
// "skipped", "error").
func (m *Metrics) ObserveSync(env, result string, d time.Duration) {
	if m != nil {
		m.syncDuration.WithLabelValues(env, result).Observe(d.Seconds())
	}
}

// ObserveGit records a Git request: kind is "list" (a ref listing) or
// "fetch"; result "ok" or "error".
func (m *Metrics) ObserveGit(kind, result string, d time.Duration) {
	if m != nil {
		m.gitRequests.WithLabelValues(kind, result).Inc()
		m.gitDuration.WithLabelValues(kind, result).Observe(d.Seconds())
	}
}

// ObserveEngine records a request to a cluster's engine, by kind (see
// cluster.RequestKind).
func (m *Metrics) ObserveEngine(kind string) {
	if m != nil {
		m.engine.WithLabelValues(kind).Inc()
	}
}

// SetDeployed records the commit env runs, replacing the one it ran.
func (m *Metrics) SetDeployed(env, stack, sha string) {
	if m != nil {
		m.deployed.DeletePartialMatch(prometheus.Labels{"environment": env})
		m.deployed.WithLabelValues(env, stack, sha).Set(1)
	}
}

// SetDrift records how many objects of env drifted.
func (m *Metrics) SetDrift(env string, n int) {
	if m != nil {
		m.drift.WithLabelValues(env).Set(float64(n))
	}
}

// SetHealth records env's stack health: its state 1, the others 0.
func (m *Metrics) SetHealth(env string, state apply.HealthState) {
	if m == nil {
		return
	}
	for _, s := range []apply.HealthState{apply.Healthy, apply.Progressing, apply.Degraded} {
		v := 0.0
		if s == state {
			v = 1
		}
		m.health.WithLabelValues(env, string(s)).Set(v)
	}
}

// SetQuarantined records how many commits of env are quarantined.
func (m *Metrics) SetQuarantined(env string, n int) {
	if m != nil {
		m.quarantined.WithLabelValues(env).Set(float64(n))
	}
}

// Forget drops env's gauges, for an environment a reload removed.
func (m *Metrics) Forget(env string) {
	if m != nil {
		for _, g := range []*prometheus.GaugeVec{m.deployed, m.drift, m.health, m.quarantined} {
			g.DeletePartialMatch(prometheus.Labels{"environment": env})
		}
	}
}

func (m *Metrics) webhook(provider, result string) {
	if m != nil {
		m.webhooks.WithLabelValues(provider, result).Inc()
	}
}

func (m *Metrics) notification(target, result string) {
	if m != nil {
		m.notifications.WithLabelValues(target, result).Inc()
	}
}
