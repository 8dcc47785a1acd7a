package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/sync"
)

// TestRecordJSONOmitsEmptyFields: a pass that failed before it had a
// commit says so by leaving the commit's fields out, not with an empty SHA
// and the year 1.
func TestRecordJSONOmitsEmptyFields(t *testing.T) {
	r := RecordOf(&sync.Record{Seq: 7, Environment: "prod", Stack: "shop", Outcome: sync.Failed,
		Commit: sync.Revision{Ref: "refs/heads/main", Branch: "main"}, Trigger: sync.TriggerSchedule,
		Error: "fetching git@example.com:shop.git: connection refused"})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seq":7,"environment":"prod","stack":"shop","commit":{"ref":"refs/heads/main","branch":"main"},` +
		`"trigger":"schedule","outcome":"failed","error":"fetching git@example.com:shop.git: connection refused"}`
	if string(b) != want {
		t.Errorf("record JSON\n got %s\nwant %s", b, want)
	}
	if strings.Contains(string(b), "0001-01-01") {
		t.Errorf("zero time in %s", b)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(*r, back); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

// TestReportKeepsWhatTheTextNeeds: a report read back from the API
// renders as the local one does — prune and a created service's
// attributes included.
func TestReportKeepsWhatTheTextNeeds(t *testing.T) {
	plan := diff.Plan{Stack: "shop", Prune: true, Changes: []diff.Change{
		{Kind: diff.KindService, Name: "shop_web", Action: diff.ActionCreate, Effect: diff.EffectNone,
			Attributes: []diff.Attribute{{Name: "image", Value: "flotilla-test/app:v2"}, {Name: "replicas", Value: "2"}}},
		{Kind: diff.KindService, Name: "shop_old", Action: diff.ActionDelete, Effect: diff.EffectRemove, Live: &diff.Live{ID: "abc"}},
	}}
	wire, err := ReportOf(&sync.Report{Environment: "prod", Stack: "shop", Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(wire)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	rep, err := back.Sync()
	if err != nil {
		t.Fatal(err)
	}
	var want, got strings.Builder
	if err := plan.WriteText(&want, diff.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rep.Plan.WriteText(&got, diff.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want.String(), got.String()); d != "" {
		t.Errorf("plan text after the API (-local +remote):\n%s", d)
	}
}
