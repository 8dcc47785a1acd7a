package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/sync"
)

var (
	deployedRev = sync.Revision{SHA: "4f2d9c1e8b7a6d5c4b3a29180f7e6d5c4b3a2918", Ref: "refs/heads/main", Branch: "main",
		AuthorName: "Ada", AuthorEmail: "ada@example.com", Date: testTime, Subject: "api: v2", Message: "api: v2\n"}
	tipRev = sync.Revision{SHA: "9a8b7c6d5e4f30211f0e9d8c7b6a5f4e3d2c1b0a", Ref: "refs/heads/main", Branch: "main",
		AuthorName: "Bob", AuthorEmail: "bob@example.com", Date: testTime, Subject: "api: v3"}
	deployedRecord = sync.Record{Seq: 4, Environment: "staging", Stack: "shop-staging", Commit: deployedRev,
		Trigger: sync.TriggerSchedule, Plan: "1 to update", Outcome: sync.Succeeded, Started: testTime,
		Finished: testTime, LastGood: deployedRev.SHA}
	failedRecord = sync.Record{Seq: 5, Environment: "staging", Stack: "shop-staging", Commit: tipRev,
		Trigger: sync.TriggerWebhook, Plan: "1 to update", Outcome: sync.RolledBack, Error: "api did not converge",
		Started: testTime, Finished: testTime, LastGood: deployedRev.SHA}
)

// withStaging gives staging a status and a history; prod's status fails.
func withStaging(op *fakeOperator) *fakeOperator {
	op.status["staging"] = &sync.Status{Environment: "staging", Stack: "shop-staging", Ref: "refs/heads/main",
		Deployed: &deployedRecord, Last: &failedRecord, Tip: &tipRev, GitMoved: true, TipQuarantined: true,
		Drift: []diff.Change{{Kind: diff.KindService, Name: "shop-staging_api", Action: diff.ActionUpdate,
			Effect: diff.EffectInPlace, Fields: []diff.Field{{Path: "Mode.Replicated.Replicas", Old: "3", New: "5"}}}}}
	op.status["review"] = &sync.Status{Environment: "review", Stack: "shop-review", Ref: "refs/heads/main",
		Pin: &sync.Pin{SHA: deployedRev.SHA, Since: testTime, Reason: "rolled back from 9a8b7c6"}}
	op.history["staging"] = []sync.Record{deployedRecord, failedRecord}
	return op
}

func TestAPIReads(t *testing.T) {
	h := start(t, withStaging(newFakeOperator()), true)

	code, body := h.read(t, "/api/v1/environments")
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	var list struct{ Environments []EnvironmentSummary }
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	deployed := CommitOf(deployedRev)
	want := []EnvironmentSummary{
		{Name: "prod", Errors: []string{"cluster unreachable"}},
		{Name: "review", Stack: "shop-review", Ref: "refs/heads/main", Pinned: true},
		{Name: "staging", Stack: "shop-staging", Ref: "refs/heads/main", Deployed: &deployed, GitMoved: true,
			TipQuarantined: true, Drift: 1, LastResult: sync.RolledBack},
	}
	if d := cmp.Diff(want, list.Environments); d != "" {
		t.Errorf("list (-want +got):\n%s", d)
	}

	code, body = h.read(t, "/api/v1/environments/staging")
	if code != http.StatusOK || !strings.Contains(body, `"sha": "`+deployedRev.SHA+`"`) {
		t.Fatalf("status: %d, want 200 with the deployed SHA:\n%s", code, body)
	}
	var st EnvironmentStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	// Through the wire and back, the status is what the operator gave,
	// but for the desired objects a drift change leaves out.
	if d := cmp.Diff(h.op.status["staging"], st.Sync()); d != "" {
		t.Errorf("status round trip (-want +got):\n%s", d)
	}

	code, body = h.read(t, "/api/v1/environments/staging/history")
	if code != http.StatusOK {
		t.Fatalf("history: %d %s", code, body)
	}
	var hist struct{ Records []Record }
	if err := json.Unmarshal([]byte(body), &hist); err != nil {
		t.Fatal(err)
	}
	var got []sync.Record
	for _, r := range hist.Records {
		got = append(got, r.Sync())
	}
	if d := cmp.Diff(h.op.history["staging"], got); d != "" {
		t.Errorf("history round trip (-want +got):\n%s", d)
	}

	for _, path := range []string{"/api/v1/environments/qa", "/api/v1/environments/qa/history"} {
		if code, body := h.read(t, path); code != http.StatusNotFound || !strings.Contains(body, `"error": "unknown environment \"qa\""`) {
			t.Errorf("%s: %d, want 404 with a JSON error: %s", path, code, body)
		}
	}
	if code, body := h.read(t, "/api/v1/environments/prod"); code != http.StatusInternalServerError || !strings.Contains(body, "cluster unreachable") {
		t.Errorf("failing status: %d %s", code, body)
	}
	h.op.historyErr = fmt.Errorf("history of staging: %w", sync.ErrUnknownEnvironment)
	if code, body := h.read(t, "/api/v1/environments/staging/history"); code != http.StatusNotFound {
		t.Errorf("history of an environment removed meanwhile: %d, want 404: %s", code, body)
	}
}

func TestAPIWritesWantTheToken(t *testing.T) {
	h := start(t, newFakeOperator(), true)
	for name, auth := range map[string]string{
		"no header":    "",
		"wrong token":  "Bearer tok-3f9a1c2e7b-5d6e7f8091a2b3c4d5e7",
		"a prefix":     "Bearer tok-3f9a",
		"basic":        "Basic " + testToken,
		"bearer empty": "Bearer ",
	} {
		header := http.Header{}
		if auth != "" {
			header.Set("Authorization", auth)
		}
		for _, op := range []string{"sync", "rollback", "resume"} {
			code, body := h.post(t, "/api/v1/environments/staging/"+op, nil, header)
			if code != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
				t.Errorf("%s %s: %d, want 401: %s", name, op, code, body)
			}
		}
	}
	if got := h.op.triggered(); len(got) != 0 || len(h.op.resumed) != 0 {
		t.Errorf("acted without the token: %v %v", got, h.op.resumed)
	}

	bearer := http.Header{"Authorization": {"Bearer " + testToken}}
	if code, body := h.post(t, "/api/v1/environments/staging/sync", nil, bearer); code != http.StatusAccepted {
		t.Errorf("sync: %d %s", code, body)
	}
	if code, body := h.post(t, "/api/v1/environments/prod/sync", []byte(`{"force": true}`), bearer); code != http.StatusAccepted {
		t.Errorf("forced sync: %d %s", code, body)
	}
	if code, body := h.post(t, "/api/v1/environments/prod/sync", []byte(`{"froce": true}`), bearer); code != http.StatusBadRequest {
		t.Errorf("misspelt body: %d, want 400: %s", code, body)
	}
	if code, _ := h.post(t, "/api/v1/environments/qa/sync", nil, bearer); code != http.StatusNotFound {
		t.Errorf("unknown environment: %d, want 404", code)
	}
	want := []call{{"staging", sync.TriggerManual, false}, {"prod", sync.TriggerManual, true}}
	if d := cmp.Diff(want, h.op.triggered()); d != "" {
		t.Errorf("triggers (-want +got):\n%s", d)
	}
	if code, body := h.post(t, "/api/v1/environments/review/resume", nil, bearer); code != http.StatusOK || len(h.op.resumed) != 1 {
		t.Errorf("resume: %d %s, resumed %v", code, body, h.op.resumed)
	}
	if logs := h.logs.String(); strings.Contains(logs, testToken) {
		t.Errorf("the token is in the logs:\n%s", logs)
	}
}

func TestAPIWritesDisabledWithoutTokenFile(t *testing.T) {
	h := start(t, newFakeOperator(), false)
	code, body := h.post(t, "/api/v1/environments/staging/sync", nil, http.Header{"Authorization": {"Bearer anything"}})
	if code != http.StatusForbidden || !strings.Contains(body, "server.tokenFile") {
		t.Errorf("%d, want 403 naming server.tokenFile: %s", code, body)
	}
	if code, _ := h.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("healthz %d", code)
	}
}

func TestAPIRollback(t *testing.T) {
	op := newFakeOperator()
	var asked []string
	op.rollback = func(env, to string) (*sync.Report, error) {
		asked = append(asked, to)
		rep := &sync.Report{Environment: env, Stack: "shop-" + env, Commit: deployedRev,
			Plan: diff.Plan{Stack: "shop-" + env, Changes: []diff.Change{{Kind: diff.KindService, Name: "shop-staging_api", Action: diff.ActionUpdate}}}}
		if to == "dead" {
			return rep, errors.New("rolling back staging: commit dead never deployed successfully here: refusing to roll back to it")
		}
		rec := deployedRecord
		rec.Trigger = sync.TriggerRollback
		rep.Record = &rec
		return rep, nil
	}
	h := start(t, op, true)
	bearer := http.Header{"Authorization": {"Bearer " + testToken}}

	code, body := h.post(t, "/api/v1/environments/staging/rollback", []byte(`{"to": "4f2d9c1"}`), bearer)
	if code != http.StatusOK {
		t.Fatalf("rollback: %d %s", code, body)
	}
	var rep Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Commit.SHA != deployedRev.SHA || rep.Record == nil || rep.Record.Trigger != sync.TriggerRollback ||
		!strings.Contains(string(rep.Plan), `"action": "update"`) {
		t.Errorf("report: %s", body)
	}

	code, body = h.post(t, "/api/v1/environments/staging/rollback", []byte(`{"to": "dead"}`), bearer)
	if code != http.StatusConflict || !strings.Contains(body, "never deployed successfully") || !strings.Contains(body, `"report"`) {
		t.Errorf("refused rollback: %d, want 409 with the message and report: %s", code, body)
	}
	code, body = h.post(t, "/api/v1/environments/staging/rollback", []byte(`{"to": "HEAD~1"}`), bearer)
	if code != http.StatusUnprocessableEntity {
		t.Errorf("rollback to a non-SHA: %d, want 422: %s", code, body)
	}
	if d := cmp.Diff([]string{"4f2d9c1", "dead"}, asked); d != "" {
		t.Errorf("rollbacks asked (-want +got):\n%s", d)
	}
}
