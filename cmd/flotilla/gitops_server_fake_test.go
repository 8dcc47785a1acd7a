package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/server"
	"github.com/flotilla-gitops/flotilla/sync"
)

// remoteToken must never show in the CLI's output or errors.
const remoteToken = "tok-cli-7d41b09e-0a1b2c3d4e5f60718293"

var (
	remoteTime = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	goodRev    = sync.Revision{SHA: "4f2d9c1e8b7a6d5c4b3a29180f7e6d5c4b3a2918", Ref: "refs/heads/dev", Branch: "dev",
		AuthorName: "Ada", AuthorEmail: "ada@example.com", Date: remoteTime, Subject: "api: v2", Message: "api: v2\n"}
	badRev = sync.Revision{SHA: "9a8b7c6d5e4f30211f0e9d8c7b6a5f4e3d2c1b0a", Ref: "refs/heads/dev", Branch: "dev",
		AuthorName: "Bob", AuthorEmail: "bob@example.com", Date: remoteTime, Subject: "api: v3 with a subject longer than forty characters"}
)

func record(seq int64, rev sync.Revision, o sync.Outcome, errText string) sync.Record {
	return sync.Record{Seq: seq, Environment: "dev", Stack: "shop-dev", Commit: rev, Trigger: sync.TriggerWebhook,
		Plan: "Plan: 0 to create, 1 to update, 0 to delete.", Outcome: o, Error: errText,
		Started: remoteTime.Add(time.Duration(seq) * time.Minute), Finished: remoteTime.Add(time.Duration(seq)*time.Minute + 20*time.Second),
		LastGood: goodRev.SHA}
}

// trigger is one Trigger the fake received.
type trigger struct {
	Env     string
	Trigger sync.Trigger
	Force   bool
}

// fakeOp is the running operator behind the test's server: dev has a
// deploy, a failed tip and drift; prod is pinned, mid-pass and busy.
type fakeOp struct {
	cfg     *environments.Config
	status  map[string]*sync.Status
	history map[string][]sync.Record

	mu       gosync.Mutex
	triggers []trigger
	resumed  []string
}

var _ server.Operator = (*fakeOp)(nil)

func newFakeOp() *fakeOp {
	spec := func(name string) *environments.EnvironmentSpec {
		return &environments.EnvironmentSpec{Name: name, Repo: "shop", Branch: name, Stack: "shop-" + name}
	}
	good, bad := record(1, goodRev, sync.Succeeded, ""), record(2, badRev, sync.RolledBack, "shop-dev_api did not converge")
	return &fakeOp{
		cfg: &environments.Config{
			Repos:        map[string]*environments.Repo{"shop": {Name: "shop", URL: "https://git.example.com/shop.git"}},
			Environments: map[string]*environments.EnvironmentSpec{"dev": spec("dev"), "prod": spec("prod")},
		},
		status: map[string]*sync.Status{
			"dev": {Environment: "dev", Stack: "shop-dev", Ref: "refs/heads/dev", Deployed: &good, Last: &bad,
				Tip: &badRev, GitMoved: true, TipQuarantined: true, Errors: []string{"rendering the tip: a warning"},
				Drift: []diff.Change{{Kind: diff.KindService, Name: "shop-dev_api", Action: diff.ActionUpdate,
					Effect: diff.EffectInPlace, Fields: []diff.Field{{Path: "Mode.Replicated.Replicas", Old: "3", New: "5"}}}}},
			"prod": {Environment: "prod", Stack: "shop-prod", Ref: "refs/heads/prod",
				Pin:     &sync.Pin{SHA: goodRev.SHA, Since: remoteTime, Reason: "rolled back from 9a8b7c6"},
				Running: true, Window: "deny window (0 22 * * *, 8h) is open", LastError: "listing refs: connection reset",
				NextRetry: remoteTime.Add(time.Minute)},
		},
		history: map[string][]sync.Record{"dev": {good, bad, record(3, goodRev, sync.Succeeded, "")}},
	}
}

func (f *fakeOp) Config() *environments.Config { return f.cfg }
func (f *fakeOp) Ready(context.Context) error  { return nil }

func (f *fakeOp) Status(_ context.Context, env string) (*sync.Status, error) {
	return f.status[env], nil
}

func (f *fakeOp) History(_ context.Context, env string) ([]sync.Record, error) {
	return f.history[env], nil
}

func (f *fakeOp) Trigger(env string, t sync.Trigger, force bool) error {
	if env == "prod" {
		return &sync.WindowError{Environment: "prod", Reason: "in deny window"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.triggers = append(f.triggers, trigger{env, t, force})
	return nil
}

// rollbackReport is what rolling dev back does: one service updated.
func rollbackReport() *sync.Report {
	rec := record(4, goodRev, sync.Succeeded, "")
	rec.Trigger = sync.TriggerRollback
	return &sync.Report{Environment: "dev", Stack: "shop-dev", Commit: goodRev, Record: &rec,
		Plan: diff.Plan{Stack: "shop-dev", Warnings: []string{"network shop-dev_default: labels are not updated"},
			Changes: []diff.Change{
				{Kind: diff.KindNetwork, Name: "shop-dev_default", Action: diff.ActionNoop},
				{Kind: diff.KindService, Name: "shop-dev_api", Action: diff.ActionUpdate, Effect: diff.EffectRolling,
					Reasons: []string{"rolling back to " + goodRev.Short()}, Live: &diff.Live{ID: "svc1"},
					Fields: []diff.Field{{Path: "TaskTemplate.ContainerSpec.Env[VERSION]", Old: "v3", New: "v2"}}},
			}}}
}

// Rollback succeeds for dev; prod's fails after deploying, as a rollback
// whose deploy did not converge does.
func (f *fakeOp) Rollback(_ context.Context, env, to string) (*sync.Report, error) {
	rep := rollbackReport()
	if env == "prod" {
		rep.Environment, rep.Record.Outcome, rep.Record.Error = "prod", sync.RolledBack, "shop-prod_api did not converge"
		return rep, errors.New("rolling back prod to 4f2d9c1: shop-prod_api did not converge")
	}
	if to != "" && !strings.HasPrefix(goodRev.SHA, to) {
		return nil, fmt.Errorf("rolling back dev: %s never deployed successfully", to)
	}
	return rep, nil
}

func (f *fakeOp) Resume(_ context.Context, env string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumed = append(f.resumed, env)
	return nil
}

// serve runs the real API over op on a free port and returns its URL and a
// file holding its token.
func serve(t *testing.T, op *fakeOp) (url, tokenFile string) {
	t.Helper()
	tokenFile = writeTemp(t, "token", remoteToken+"\n")
	s, err := server.New(&environments.Server{Listen: "127.0.0.1:0", TokenFile: tokenFile}, op, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(t.Context(), ln) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("serving the API: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), tokenFile
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cli runs flotilla in-process and returns its stdout and error; it fails
// the test if the API token shows anywhere.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	all := out.String() + errOut.String()
	if err != nil {
		all += err.Error()
		if _, special := errors.AsType[*exitError](err); special {
			t.Errorf("flotilla %s: %v carries an exit status other than 1", strings.Join(args, " "), err)
		}
	}
	if strings.Contains(all, remoteToken) {
		t.Errorf("flotilla %s printed the API token", strings.Join(args, " "))
	}
	return out.String(), err
}
