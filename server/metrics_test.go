package server

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestProbesAndMetrics(t *testing.T) {
	op := newFakeOperator()
	h := start(t, op, true)
	if code, body := h.get(t, "/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, _ := h.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("readyz: %d", code)
	}
	op.readyErr = errors.New("cluster prod: connection refused")
	if code, body := h.read(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "cluster prod: connection refused") {
		t.Errorf("readyz while not ready: %d %s", code, body)
	}
	// A probe without a token learns the status only: the reason may name
	// hosts and files.
	if code, body := h.get(t, "/readyz"); code != http.StatusServiceUnavailable || strings.Contains(body, "cluster prod") {
		t.Errorf("readyz without a token while not ready: %d %s", code, body)
	}

	h.metrics.ObserveSync("staging", "succeeded", 3e9)
	h.metrics.ObserveGit("list", "ok", 2e7)
	h.metrics.ObserveEngine("GET /services")
	h.metrics.SetDeployed("staging", "shop-staging", tipRev.SHA)
	h.metrics.SetDeployed("staging", "shop-staging", deployedRev.SHA)
	h.metrics.SetDrift("staging", 2)
	h.metrics.SetQuarantined("staging", 1)
	h.metrics.notification("slack hooks.slack.com", "sent")
	h.post(t, "/hooks/github", nil, nil) // not configured: counted
	code, body := h.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`flotilla_sync_duration_seconds_count{environment="staging",result="succeeded"} 1`,
		`flotilla_git_requests_total{kind="list",result="ok"} 1`,
		`flotilla_git_request_duration_seconds_count{kind="list",result="ok"} 1`,
		`flotilla_engine_requests_total{kind="GET /services"} 1`,
		`flotilla_deployed_revision_info{environment="staging",sha="` + deployedRev.SHA + `",stack="shop-staging"} 1`,
		`flotilla_drift{environment="staging"} 2`,
		`flotilla_quarantined_commits{environment="staging"} 1`,
		`flotilla_webhook_requests_total{provider="github",result="not_configured"} 1`,
		`flotilla_notifications_total{result="sent",target="slack hooks.slack.com"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, tipRev.SHA) {
		t.Errorf("/metrics still shows the revision staging no longer runs")
	}
}

// value reads a counter or gauge. (prometheus/testutil would need a module
// go.mod does not list.)
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	switch {
	case out.Counter != nil:
		return out.Counter.GetValue()
	case out.Gauge != nil:
		return out.Gauge.GetValue()
	}
	t.Fatalf("%s is neither a counter nor a gauge", m.Desc())
	return 0
}

// histogramCount reads how many observations a histogram has.
func histogramCount(t *testing.T, m prometheus.Metric) uint64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetHistogram().GetSampleCount()
}
