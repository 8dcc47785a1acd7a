package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/server"
	"github.com/flotilla-gitops/flotilla/sync"
)

// A failed pass says why; one that failed before it had a commit shows
// dashes, not blanks that shift the columns.
func TestHistoryTableShowsFailures(t *testing.T) {
	good := record(1, goodRev, sync.Succeeded, "")
	bad := record(2, badRev, sync.RolledBack, "deploying stack shop-dev: services failed: shop-dev_api: 3 tasks failed\n(task: non-zero exit (3))")
	early := server.Record{Seq: 3, Environment: "dev", Stack: "shop-dev", Trigger: sync.TriggerSchedule, Outcome: sync.Failed,
		Commit: server.Commit{Ref: "refs/heads/dev", Branch: "dev"}, Error: "fetching git@example.com:acme/shop.git: " + strings.Repeat("x", 200)}
	var out bytes.Buffer
	if err := writeHistory(&out, []server.Record{early, *server.RecordOf(&bad), *server.RecordOf(&good)}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want a header and 3 rows:\n%s", len(lines), out.String())
	}
	fields := strings.Fields(lines[1])
	if strings.Join(fields[:4], " ") != "3 - - -" {
		t.Errorf("row of a pass without a commit starts %q, want seq and dashes for time, commit and author:\n%s", fields[:4], out.String())
	}
	if !strings.HasSuffix(lines[1], "fetching git@example.com:acme/shop.git: "+strings.Repeat("x", 59)+"…") {
		t.Errorf("the early failure's error is not clipped to 100 characters: %q", lines[1])
	}
	if !strings.HasSuffix(lines[2], "deploying stack shop-dev: services failed: shop-dev_api: 3 tasks failed (task: non-zero exit (3))") {
		t.Errorf("the failed deploy's row lacks its error on one line: %q", lines[2])
	}
	if !strings.Contains(lines[3], remoteTime.Add(time.Minute+20*time.Second).Format(time.DateTime)) {
		t.Errorf("the good deploy's row lacks its time: %q", lines[3])
	}
	// Columns line up: every row's RESULT starts under the header's.
	col := strings.Index(lines[0], "RESULT")
	for _, l := range lines[1:] {
		if r := []rune(l); len(r) <= col || (!strings.HasPrefix(string(r[col:]), "failed") && !strings.HasPrefix(string(r[col:]), "succeeded")) {
			t.Errorf("RESULT not in its column in %q", l)
		}
	}
}

// status fails only for environments in error, and names them.
func TestStatusInError(t *testing.T) {
	clean := &server.EnvironmentStatus{Environment: "dev", Last: server.RecordOf(&sync.Record{Outcome: sync.RolledBack})}
	broken := &server.EnvironmentStatus{Environment: "prod", Errors: []string{"reading the history: connection refused"}}
	retrying := &server.EnvironmentStatus{Environment: "qa", LastError: "listing refs: timeout"}
	if err := inError([]*server.EnvironmentStatus{clean}); err != nil {
		t.Errorf("an environment whose last deploy rolled back is in error: %v", err)
	}
	err := inError([]*server.EnvironmentStatus{clean, broken, retrying})
	if err == nil || err.Error() != "in error: prod, qa" {
		t.Errorf("err = %v, want \"in error: prod, qa\"", err)
	}
}
