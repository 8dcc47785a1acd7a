package server

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

func TestReporter(t *testing.T) {
	in := newInbox(t, nil)
	m := NewMetrics(prometheus.NewRegistry())
	n := NewNotifier(t.Context(), []*environments.Notification{{Type: environments.WebhookNotification, URL: in.srv.URL + "/hook"}}, nil, m, nil)
	r := NewReporter(m, n)
	r.now = func() time.Time { return testTime }

	record := func(rev sync.Revision, o sync.Outcome, errText string) *sync.Record {
		return &sync.Record{Environment: "staging", Commit: rev, Outcome: o, Error: errText, Plan: "1 to update"}
	}
	update := func(name string) diff.Plan {
		return diff.Plan{Changes: []diff.Change{{Kind: diff.KindService, Name: name, Action: diff.ActionUpdate},
			{Kind: diff.KindNetwork, Name: "shop-staging_default", Action: diff.ActionNoop}}}
	}
	// A deploy, drift reported twice (announced once), drift healed, a
	// failed deploy, and a pass that could not reach Git.
	pass(r, "staging", "shop-staging", &sync.Report{Commit: deployedRev, Plan: update("shop-staging_api"),
		Record: record(deployedRev, sync.Succeeded, "")}, nil, time.Second)
	for range 2 {
		pass(r, "staging", "shop-staging", &sync.Report{Commit: deployedRev, Plan: update("shop-staging_api"), Drift: true}, nil, time.Second)
	}
	if d := value(t, m.drift.WithLabelValues("staging")); d != 1 {
		t.Errorf("drift gauge %v, want 1", d)
	}
	pass(r, "staging", "shop-staging", &sync.Report{Commit: deployedRev, Plan: update("shop-staging_web"), Drift: true,
		Record: record(deployedRev, sync.Succeeded, "")}, nil, time.Second)
	pass(r, "staging", "shop-staging", &sync.Report{Commit: tipRev, Plan: update("shop-staging_api"),
		Record: record(tipRev, sync.RolledBack, "shop-staging_api did not converge")}, errors.New("deploy failed"), time.Second)
	pass(r, "staging", "shop-staging", nil, errors.New("fetching: connection refused"), time.Second)
	if err := n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, b := range in.got("/hook") {
		var e Event
		if err := json.Unmarshal([]byte(b), &e); err != nil {
			t.Fatal(err)
		}
		got = append(got, string(e.Kind)+" "+e.Commit.Short()+": "+e.Message)
	}
	want := []string{
		"deploy_succeeded 4f2d9c1: 1 to update",
		"drift_detected 4f2d9c1: 1 object(s) changed outside Git: update service shop-staging_api",
		"drift_detected 4f2d9c1: 1 object(s) changed outside Git: update service shop-staging_web; re-applied from Git",
		"rolled_back 9a8b7c6: shop-staging_api did not converge\ncommit 9a8b7c6 is quarantined: it is not applied again until a new commit or a forced sync",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("notifications (-want +got):\n%s", d)
	}
	for result, want := range map[string]uint64{"succeeded": 2, "drift": 2, "rolled_back": 1, "error": 1} {
		if got := histogramCount(t, m.syncDuration.WithLabelValues("staging", result).(prometheus.Metric)); got != want {
			t.Errorf("passes with result %s: %d, want %d", result, got, want)
		}
	}
	if d := value(t, m.drift.WithLabelValues("staging")); d != 0 {
		t.Errorf("drift gauge %v after the heal, want 0", d)
	}
	if v := value(t, m.deployed.WithLabelValues("staging", "shop-staging", deployedRev.SHA)); v != 1 {
		t.Errorf("deployed revision info %v, want 1", v)
	}
}

// pass reports one pass as the operator does.
func pass(r *Reporter, env, stack string, rep *sync.Report, err error, took time.Duration) {
	r.PassFinished(sync.PassEvent{Environment: env, Stack: stack, Report: rep, Err: err, Took: took})
}
