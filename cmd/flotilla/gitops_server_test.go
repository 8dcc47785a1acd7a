package main

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/server"
	"github.com/flotilla-gitops/flotilla/sync"
)

func TestRemoteStatusRendersLikeLocal(t *testing.T) {
	t.Parallel()
	op := newFakeOp()
	url, token := serve(t, op)

	var dev, prod bytes.Buffer
	writeStatus(&dev, op.status["dev"])
	writeStatus(&prod, op.status["prod"])
	for _, line := range []string{
		`deployed:      4f2d9c1 "api: v2" by Ada <ada@example.com>, 2026-11-27 09:30:00`,
		`drift:         update shop-dev_api`,
		`last result:   failed and rolled back: shop-dev_api did not converge at 2026-11-27 09:32:20 (9a8b7c6, webhook)`,
	} {
		if !strings.Contains(dev.String(), line) {
			t.Fatalf("the local rendering lacks %q; the test's expectations are off:\n%s", line, dev.String())
		}
	}

	// dev's status has an error: the command fails, after printing it.
	out, err := cli(t, "status", "--server", url, "--token-file", token, "dev")
	if err == nil || err.Error() != "in error: dev" {
		t.Errorf("status --server dev: err = %v, want \"in error: dev\"", err)
	}
	if d := cmp.Diff(dev.String(), out); d != "" {
		t.Errorf("status dev over the API differs from the local rendering (-local +remote):\n%s", d)
	}

	// Every environment, in the operator's order, with what only a running
	// operator knows. prod's last automatic pass failed: it is in error too.
	out, err = cli(t, "status", "--server", url, "--token-file", token)
	if err == nil || err.Error() != "in error: dev, prod" {
		t.Errorf("status --server (all): err = %v, want \"in error: dev, prod\"", err)
	}
	if d := cmp.Diff(dev.String()+"\n"+prod.String(), out); d != "" {
		t.Errorf("status of all environments (-want +got):\n%s", d)
	}
	for _, line := range []string{"running:       a pass is under way", "waiting:       deny window",
		"last attempt:  listing refs: connection reset (retry at 2026-11-27 09:31:00)"} {
		if !strings.Contains(out, line) {
			t.Errorf("prod's status lacks %q:\n%s", line, out)
		}
	}

	out, err = cli(t, "status", "--server", url, "--token-file", token, "-o", "json", "dev")
	if err == nil || err.Error() != "in error: dev" {
		t.Errorf("status --server -o json dev: err = %v, want \"in error: dev\"", err)
	}
	var got []server.EnvironmentStatus
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("status -o json is not the API's JSON: %v\n%s", err, out)
	}
	if len(got) != 1 || got[0].Deployed == nil || got[0].Deployed.Commit.SHA != goodRev.SHA || !strings.Contains(out, `"tipQuarantined": true`) {
		t.Errorf("status -o json = %s", out)
	}
}

func TestRemoteHistory(t *testing.T) {
	t.Parallel()
	op := newFakeOp()
	url, token := serve(t, op)

	out, err := cli(t, "history", "--server", url, "--token-file", token, "-n", "2", "dev")
	if err != nil {
		t.Fatalf("history --server: %v", err)
	}
	records := op.history["dev"]
	var want bytes.Buffer
	if err := writeHistory(&want, []server.Record{*server.RecordOf(&records[2]), *server.RecordOf(&records[1])}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want.String(), out); d != "" {
		t.Errorf("history over the API (-local +remote):\n%s", d)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "3 ") || !strings.HasPrefix(lines[2], "2 ") ||
		!strings.Contains(lines[2], "api: v3 with a subject longer than fort…  webhook  failed and rolled back") {
		t.Errorf("history -n 2 should list records 3 and 2, newest first, subjects clipped:\n%s", out)
	}

	out, err = cli(t, "history", "--server", url, "--token-file", token, "--output", "json", "dev")
	if err != nil {
		t.Fatalf("history --server -o json: %v", err)
	}
	var got []server.Record
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("history -o json: %v\n%s", err, out)
	}
	var seqs []int64
	for _, r := range got {
		seqs = append(seqs, r.Seq)
	}
	if d := cmp.Diff([]int64{3, 2, 1}, seqs); d != "" || got[1].Commit.Author != "Bob" || got[1].Outcome != sync.RolledBack {
		t.Errorf("history -o json: seqs (-want +got) %s\n%s", d, out)
	}
}

func TestRemoteSyncQueues(t *testing.T) {
	t.Parallel()
	op := newFakeOp()
	url, token := serve(t, op)

	out, err := cli(t, "sync", "--server", url, "--token-file", token, "--force", "dev")
	if err != nil {
		t.Fatalf("sync --server: %v", err)
	}
	if want := "Sync of dev queued (forced); watch it with 'flotilla status --server " + url + " dev'.\n"; out != want {
		t.Errorf("sync printed %q, want %q", out, want)
	}
	if _, err := cli(t, "sync", "--server", url, "--token-file", token, "dev"); err != nil {
		t.Fatalf("sync --server: %v", err)
	}

	_, err = cli(t, "sync", "--server", url, "--token-file", token, "--dry-run", "dev")
	if err == nil || !strings.Contains(err.Error(), "--dry-run works locally only: the operator's API has no dry run") {
		t.Errorf("sync --dry-run --server: %v, want the no-dry-run error", err)
	}
	_, err = cli(t, "sync", "--server", url, "--token-file", token, "prod")
	if err == nil || err.Error() != "the operator at "+url+" refused: environment prod is in deny window: sync with force to override (409 Conflict)" {
		t.Errorf("sync of an environment in a deny window: %v", err)
	}

	want := []trigger{{"dev", sync.TriggerManual, true}, {"dev", sync.TriggerManual, false}}
	op.mu.Lock()
	defer op.mu.Unlock()
	if d := cmp.Diff(want, op.triggers); d != "" {
		t.Errorf("triggers (-want +got):\n%s", d)
	}
}

func TestRemoteRollbackAndResume(t *testing.T) {
	t.Parallel()
	op := newFakeOp()
	url, token := serve(t, op)

	out, err := cli(t, "rollback", "--server", url, "--token-file", token, "--to", "4f2d9c1", "dev")
	if err != nil {
		t.Fatalf("rollback --server: %v", err)
	}
	var want bytes.Buffer
	local, err := server.ReportOf(rollbackReport()) // what the local backend prints from
	if err != nil {
		t.Fatal(err)
	}
	printReport(&want, local, false)
	want.WriteString("Pinned dev at 4f2d9c1; 'flotilla resume dev' lets automatic syncs continue.\n")
	if d := cmp.Diff(want.String(), out); d != "" {
		t.Errorf("rollback over the API (-local +remote):\n%s", d)
	}
	for _, s := range []string{"~ service shop-dev_api (rolling restart)", "Env[VERSION]: v3 => v2", "Warnings:", "Result: succeeded"} {
		if !strings.Contains(out, s) {
			t.Errorf("rollback output lacks %q:\n%s", s, out)
		}
	}

	// A failed rollback still shows what it did, then the error.
	out, err = cli(t, "rollback", "--server", url, "--token-file", token, "prod")
	if err == nil || !strings.Contains(err.Error(), "refused: rolling back prod to 4f2d9c1: shop-prod_api did not converge (409 Conflict)") {
		t.Errorf("failed rollback: %v", err)
	}
	if !strings.Contains(out, "Result: failed and rolled back: shop-prod_api did not converge") || strings.Contains(out, "Pinned") {
		t.Errorf("failed rollback should print its report and no pin:\n%s", out)
	}

	out, err = cli(t, "resume", "--server", url, "--token-file", token, "dev")
	if err != nil || out != "Resumed dev.\n" {
		t.Errorf("resume --server: %q, %v", out, err)
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	if d := cmp.Diff([]string{"dev"}, op.resumed); d != "" {
		t.Errorf("resumed (-want +got):\n%s", d)
	}
}

func TestRemoteErrors(t *testing.T) {
	t.Parallel()
	op := newFakeOp()
	url, token := serve(t, op)
	wrong := writeTemp(t, "wrong", "tok-guessed-0000\n")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + closed.Addr().String()
	closed.Close()

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--server", url, "--token-file", wrong, "dev"},
			"the operator at " + url + " refused the token in " + wrong + " as wrong (401 Unauthorized): it must match the operator's server.tokenFile"},
		{[]string{"resume", "--server", url, "dev"},
			"the operator at " + url + " wants its API token for this (401 Unauthorized): pass --token-file FILE or set FLOTILLA_TOKEN_FILE"},
		{[]string{"status", "--server", url, "--token-file", token, "qa"}, `the operator at ` + url + `: unknown environment "qa" (404 Not Found)`},
		{[]string{"history", "--server", url, "--token-file", token, "qa"}, `the operator at ` + url + `: unknown environment "qa" (404 Not Found)`},
		{[]string{"status", "--server", url, "dev"},
			"the operator at " + url + " wants its API token for this (401 Unauthorized): pass --token-file FILE or set FLOTILLA_TOKEN_FILE"},
		{[]string{"rollback", "--server", url, "--token-file", token, "qa"}, `unknown environment "qa" (404 Not Found)`},
		{[]string{"status", "--server", down, "dev"}, "cannot reach the operator at " + down + ": dial tcp " + closed.Addr().String()},
		{[]string{"status", "--server", "ftp://example.com", "dev"}, `--server "ftp://example.com" is not an operator's URL`},
		{[]string{"history", "--server", url, "--config", "flotilla.yml", "dev"}, "--config runs locally and --server asks a running operator"},
		{[]string{"sync", "--server", url, "--token-file", writeTemp(t, "empty", "\n"), "dev"}, "--token-file: reading server token: "},
	} {
		out, err := cli(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("flotilla %s: %v\nwant an error with %q", strings.Join(tc.args, " "), err, tc.want)
		}
		if out != "" || strings.Contains(err.Error(), "tok-guessed") {
			t.Errorf("flotilla %s printed %q or the token it sent", strings.Join(tc.args, " "), out)
		}
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	if len(op.triggers) != 0 || len(op.resumed) != 0 {
		t.Errorf("refused requests reached the operator: triggers %v, resumed %v", op.triggers, op.resumed)
	}
}

func TestClipCountsCharacters(t *testing.T) {
	if got := clip("déploiement réussi", 5); got != "dépl…" {
		t.Errorf("clip = %q", got)
	}
	if got := clip("ok", 5); got != "ok" {
		t.Errorf("clip of a short string = %q", got)
	}
}
