package sync_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/sync"
)

var scheduled = sync.Options{Trigger: sync.TriggerSchedule}

func TestBranchesDeployTheirOwnStacks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev", "test", "prod")
	s := f.syncer()
	for _, env := range []string{"dev", "test", "prod"} {
		rep, err := s.Sync(t.Context(), env, scheduled)
		if err != nil {
			t.Fatalf("first sync of %s: %v", env, err)
		}
		if rep.Record == nil || rep.Record.Outcome != sync.Succeeded {
			t.Fatalf("first sync of %s recorded %+v", env, rep.Record)
		}
		if got := f.color(env); got != env+"-1" {
			t.Errorf("%s runs COLOR=%s, want %s-1", env, got, env)
		}
	}
	before := map[string]uint64{}
	for _, env := range []string{"test", "prod"} {
		before[env] = f.service(env).Version.Index
	}

	sha := f.commit("dev", "dev-2", false)
	for _, env := range []string{"dev", "test", "prod"} {
		rep, err := s.Sync(t.Context(), env, scheduled)
		if err != nil {
			t.Fatalf("second sync of %s: %v", env, err)
		}
		switch env {
		case "dev":
			if rep.Record == nil || rep.Record.Commit.SHA != sha || rep.Record.Commit.AuthorName != "Ada Lovelace" ||
				rep.Record.Commit.Subject != "dev: color dev-2" {
				t.Errorf("dev's record of the new commit: %+v", rep.Record)
			}
		default:
			if rep.Record != nil || rep.Skip != sync.SkipNoChanges {
				t.Errorf("%s recorded %+v / skipped %q after a commit to dev", env, rep.Record, rep.Skip)
			}
			if v := f.service(env).Version.Index; v != before[env] {
				t.Errorf("%s's service was written (version %d → %d) by a commit to dev", env, before[env], v)
			}
		}
	}
	if got := f.color("dev"); got != "dev-2" {
		t.Errorf("dev runs COLOR=%s after its commit, want dev-2", got)
	}
}

func TestFailedCommitIsRolledBackAndQuarantined(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev")
	s := f.syncer()
	if _, err := s.Sync(t.Context(), "dev", scheduled); err != nil {
		t.Fatal(err)
	}
	bad := f.commit("dev", "broken", true)
	rep, err := s.Sync(t.Context(), "dev", scheduled)
	if err == nil {
		t.Fatal("sync of a crashing commit succeeded")
	}
	if rep.Record == nil || rep.Record.Outcome != sync.RolledBack || rep.Record.Commit.SHA != bad {
		t.Fatalf("record of the failed deploy: %+v", rep.Record)
	}
	if !strings.Contains(rep.Record.Error, "non-zero exit (3)") {
		t.Errorf("the record's error %q does not say why the tasks failed", rep.Record.Error)
	}
	if got := f.color("dev"); got != "dev-1" {
		t.Errorf("after the failed deploy dev runs COLOR=%s, want the previous dev-1", got)
	}
	version := f.service("dev").Version.Index

	// Repeated automatic syncs, by this process and by a new one, leave the
	// quarantined commit alone.
	for i, syncer := range []*sync.Syncer{s, s, f.syncer()} {
		rep, err := syncer.Sync(t.Context(), "dev", scheduled)
		if err != nil {
			t.Fatalf("sync %d after the failure: %v", i, err)
		}
		if rep.Record != nil || rep.Skip != sync.SkipQuarantined {
			t.Errorf("sync %d after the failure: record %+v, skipped %q; want the commit quarantined", i, rep.Record, rep.Skip)
		}
	}
	if v := f.service("dev").Version.Index; v != version {
		t.Errorf("the quarantined commit was applied again (service version %d → %d)", version, v)
	}
	records, err := f.syncer().History(t.Context(), "dev")
	if err != nil || len(records) != 2 {
		t.Fatalf("history: %d records, %v; want the good deploy and the failed one", len(records), err)
	}

	good := f.commit("dev", "dev-3", false)
	rep, err = s.Sync(t.Context(), "dev", scheduled)
	if err != nil || rep.Record == nil || rep.Record.Commit.SHA != good || rep.Record.Outcome != sync.Succeeded {
		t.Fatalf("a new commit after the quarantine: %+v, %v", rep.Record, err)
	}
	if got := f.color("dev"); got != "dev-3" {
		t.Errorf("dev runs COLOR=%s, want dev-3", got)
	}
}

func TestRollbackPinsAndResumeUnpins(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "prod")
	s := f.syncer()
	if _, err := s.Sync(t.Context(), "prod", scheduled); err != nil {
		t.Fatal(err)
	}
	first := f.repo.Head()
	f.commit("prod", "prod-2", false)
	if _, err := s.Sync(t.Context(), "prod", scheduled); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Rollback(t.Context(), "prod", "0123456789abcdef"); err == nil || !strings.Contains(err.Error(), "never deployed successfully") {
		t.Errorf("rollback to an unknown commit: %v, want a refusal", err)
	}
	// A new process with an empty, shallow cache must find the older commit.
	fresh := f.syncer()
	rep, err := fresh.Rollback(t.Context(), "prod", "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Commit.SHA != first || rep.Record == nil || rep.Record.Trigger != sync.TriggerRollback {
		t.Errorf("rollback deployed %s (record %+v), want the first commit %s", rep.Commit.Short(), rep.Record, first[:7])
	}
	if got := f.color("prod"); got != "prod-1" {
		t.Errorf("after the rollback prod runs COLOR=%s, want prod-1", got)
	}
	st, err := s.Status(t.Context(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	if st.Pin == nil || st.Pin.SHA != first || !st.GitMoved {
		t.Errorf("status after rollback: pin %+v, git moved %v; want pinned at the first commit with Git ahead", st.Pin, st.GitMoved)
	}

	rep, err = s.Sync(t.Context(), "prod", scheduled)
	if err != nil || rep.Skip != sync.SkipPinned {
		t.Errorf("automatic sync of a pinned environment: skipped %q, %v", rep.Skip, err)
	}
	if got := f.color("prod"); got != "prod-1" {
		t.Errorf("the pin did not hold: prod runs COLOR=%s", got)
	}
	if err := s.Resume(t.Context(), "prod"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(t.Context(), "prod", scheduled); err != nil {
		t.Fatal(err)
	}
	if got := f.color("prod"); got != "prod-2" {
		t.Errorf("after resume prod runs COLOR=%s, want the branch tip's prod-2", got)
	}
	records, err := fresh.History(t.Context(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	var triggers []string
	for _, r := range records {
		triggers = append(triggers, string(r.Trigger)+":"+r.Commit.Short())
	}
	if len(records) != 4 || records[2].Trigger != sync.TriggerRollback {
		t.Errorf("history read by another process: %v", triggers)
	}
}

func TestForcePushIsDeployed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev")
	s := f.syncer()
	base := f.repo.Head()
	f.commit("dev", "dev-2", false)
	if _, err := s.Sync(t.Context(), "dev", scheduled); err != nil {
		t.Fatal(err)
	}
	// Rewrite the branch: drop dev-2, commit dev-3 on the old base.
	f.repo.Reset(base)
	rewritten := f.repo.Commit(map[string]string{"stack.yml": webStack("dev-3", false)}, "dev: rewritten")
	f.repo.ForcePush("dev")
	rep, err := s.Sync(t.Context(), "dev", scheduled)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Commit.SHA != rewritten || f.color("dev") != "dev-3" {
		t.Errorf("after a force-push: deployed %s with COLOR=%s, want %s with dev-3", rep.Commit.Short(), f.color("dev"), rewritten[:7])
	}
}

func TestDeletedBranchLeavesTheStackRunning(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dev")
	s := f.syncer()
	if _, err := s.Sync(t.Context(), "dev", scheduled); err != nil {
		t.Fatal(err)
	}
	// Another branch keeps the repository from being empty.
	f.repo.Switch("main")
	f.repo.Push("main")
	f.repo.DeleteBranch("dev")
	_, err := s.Sync(t.Context(), "dev", scheduled)
	var nf *sync.RefNotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("sync of a deleted branch: %v, want a RefNotFoundError", err)
	}
	if f.color("dev") != "dev-1" {
		t.Error("the service changed after its branch was deleted")
	}
	swarmtest.WaitRunning(t, f.api, f.stacks["dev"]+"_web", 1, time.Minute)

	// The failed pass is in the history, once however often it repeats.
	if _, err := s.Sync(t.Context(), "dev", scheduled); !errors.As(err, &nf) {
		t.Fatalf("second sync of the deleted branch: %v", err)
	}
	records, err := s.History(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || records[1].Outcome != sync.Failed || !strings.Contains(records[1].Error, `branch "dev" not found`) ||
		records[1].LastGood != records[0].Commit.SHA {
		t.Errorf("history after two failed syncs of a deleted branch: %+v", records)
	}
	st, err := s.Status(t.Context(), "dev")
	if err != nil || st.Deployed == nil || st.Deployed.Commit.SHA != records[0].Commit.SHA {
		t.Errorf("status after the failures: deployed %+v, %v; want the last good commit", st.Deployed, err)
	}
}
