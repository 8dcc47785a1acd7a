package apply_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

const recoverV1 = `
services:
  api:
    image: flotilla-test/app:v1
    environment: {PORT: "18092", COLOR: "${COLOR}", CRASH: "${CRASH}"}
    secrets: [pw]
    deploy:
      restart_policy: {delay: 1s}
secrets:
  pw: {file: ./pw}
`

// recoverV2 adds a secret, which the deploy creates.
const recoverV2 = `
services:
  api:
    image: flotilla-test/app:v1
    environment: {PORT: "18092", COLOR: "${COLOR}", CRASH: "${CRASH}"}
    secrets: [pw, pw2]
    deploy:
      restart_policy: {delay: 1s}
secrets:
  pw: {file: ./pw}
  pw2: {file: ./pw2}
`

var recoverOpts = apply.RecoverOptions{ProgressDeadline: 2 * time.Minute, Monitor: time.Second, PollInterval: 200 * time.Millisecond}

// recoverSetup deploys v1 and returns the deployer and the api service's
// spec hash on v1.
func recoverSetup(t *testing.T) (*deployer, string) {
	d := newDeployer(t)
	d.files["pw"] = &fstest.MapFile{Data: []byte("one")}
	d.files["pw2"] = &fstest.MapFile{Data: []byte("two")}
	if _, err := d.deploy(recoverV1, map[string]string{"COLOR": "blue", "CRASH": "0"}, testOpts); err != nil {
		t.Fatal(err)
	}
	return d, d.service("api").Spec.Labels[stack.LabelSpecHash]
}

// openJournal opens the journal a writer would, before its deploy.
func openJournal(t *testing.T, d *deployer, plan diff.Plan) *apply.JournalHandle {
	t.Helper()
	h, err := apply.OpenJournal(t.Context(), d.docker, apply.Journal{Stack: d.stack, Writer: "a writer killed mid-deploy",
		Target: apply.Target{Commit: "c0ffee", PlanDigest: apply.PlanDigest(plan)}, Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// findJournal is what the next writer does: find the open journal.
func findJournal(t *testing.T, d *deployer) *apply.Journal {
	t.Helper()
	j, err := apply.FindJournal(t.Context(), d.docker, d.stack)
	if err != nil {
		t.Fatal(err)
	}
	if j == nil {
		t.Fatal("no open journal")
	}
	t.Cleanup(func() { apply.RemoveJournal(context.Background(), d.docker, d.stack) })
	return j
}

func (d *deployer) secretExists(name string) bool {
	d.t.Helper()
	ids, err := d.docker.SecretIDs(d.t.Context(), []string{d.stack + "_" + name})
	if err != nil {
		d.t.Fatal(err)
	}
	return len(ids) == 1
}

func TestRecoverRollsBackADegradedDeploy(t *testing.T) {
	t.Parallel()
	d, v1Hash := recoverSetup(t)
	plan := d.plan(recoverV2, map[string]string{"COLOR": "blue", "CRASH": "1"})
	h := openJournal(t, d, plan)
	// Every change is sent, then the writer dies: nothing waits for the
	// crashing tasks, nothing rolls back, the journal stays open.
	if _, err := apply.Run(t.Context(), d.docker, plan, apply.Options{Detach: true, Journal: h}); err != nil {
		t.Fatal(err)
	}
	j := findJournal(t, d)
	if len(j.Services) != 1 || j.Services[0].Previous.Labels[stack.LabelSpecHash] != v1Hash {
		t.Fatalf("journal services = %+v, want api's v1 spec", j.Services)
	}
	if len(j.Creates) != 1 || j.Creates[0].Name != d.stack+"_pw2" || j.Creates[0].ID == "" {
		t.Fatalf("journal creates = %+v, want the new secret with its ID", j.Creates)
	}

	res, err := apply.Recover(t.Context(), d.docker, j, recoverOpts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != apply.RecoverRolledBack || res.Cause != apply.CauseDegraded {
		t.Errorf("Recover = %s (%s), want rolled-back because degraded", res.Outcome, res.Cause)
	}
	if !strings.Contains(res.Reason, d.stack+"_api") || !strings.Contains(res.Reason, "code 3") {
		t.Errorf("reason %q does not name the service and its exit code", res.Reason)
	}
	api := d.service("api")
	if api.Spec.Labels[stack.LabelSpecHash] != v1Hash || envOf(api, "CRASH") != "0" {
		t.Errorf("api runs spec %s with CRASH=%s, want v1's", api.Spec.Labels[stack.LabelSpecHash], envOf(api, "CRASH"))
	}
	swarmtest.WaitRunning(t, d.api, d.stack+"_api", 1, time.Minute)
	if d.secretExists("pw2") {
		t.Error("the secret the deploy created is still there")
	}
	if !slices.Contains(res.RolledBack, d.stack+"_pw2") || !slices.Contains(res.RolledBack, d.stack+"_api") {
		t.Errorf("RolledBack = %v, want the api and the secret", res.RolledBack)
	}
}

func TestRecoverConvergedDeployChangesNothing(t *testing.T) {
	t.Parallel()
	d, _ := recoverSetup(t)
	plan := d.plan(recoverV2, map[string]string{"COLOR": "green", "CRASH": "0"})
	h := openJournal(t, d, plan)
	// The deploy converged; its writer died before recording it.
	if _, err := apply.Run(t.Context(), d.docker, plan, apply.Options{Monitor: time.Second, Journal: h}); err != nil {
		t.Fatal(err)
	}
	v2Hash := d.service("api").Spec.Labels[stack.LabelSpecHash]
	j := findJournal(t, d)
	before := d.api.writes.Load()
	res, err := apply.Recover(t.Context(), d.docker, j, recoverOpts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != apply.RecoverConverged || res.Cause != "" || res.Health.State != apply.Healthy {
		t.Errorf("Recover = %s (%s, health %s %q), want converged", res.Outcome, res.Cause, res.Health.State, res.Health.Reason)
	}
	if n := d.api.writes.Load() - before; n != 0 {
		t.Errorf("Recover of a converged deploy made %d writes", n)
	}
	if d.service("api").Spec.Labels[stack.LabelSpecHash] != v2Hash || !d.secretExists("pw2") {
		t.Error("Recover changed the converged deploy")
	}
}

// killAfterSecret is a journal that dies with its writer right after the
// deploy created its secret.
type killAfterSecret struct {
	*apply.JournalHandle
	kill context.CancelFunc
}

func (k killAfterSecret) Created(ctx context.Context, o apply.JournalObject) error {
	err := k.JournalHandle.Created(ctx, o)
	if o.Kind == diff.KindSecret {
		k.kill()
	}
	return err
}

func TestRecoverIncompleteDeployIsNotTheCommitsFault(t *testing.T) {
	t.Parallel()
	d, v1Hash := recoverSetup(t)
	plan := d.plan(recoverV2, map[string]string{"COLOR": "green", "CRASH": "0"})
	h := openJournal(t, d, plan)
	ctx, kill := context.WithCancel(t.Context())
	_, err := apply.Run(ctx, d.docker, plan, apply.Options{Journal: killAfterSecret{h, kill}})
	if fe, ok := errors.AsType[*apply.FailedError](err); !ok || fe.Kind != apply.FailureInterrupted {
		t.Fatalf("Run = %v, want an interrupted deploy", err)
	}
	if !d.secretExists("pw2") || d.service("api").Spec.Labels[stack.LabelSpecHash] != v1Hash {
		t.Fatal("the interrupted deploy did not stop between the secret and the service")
	}

	j := findJournal(t, d)
	updates := d.serviceUpdates()
	res, err := apply.Recover(t.Context(), d.docker, j, recoverOpts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != apply.RecoverRolledBack || res.Cause != apply.CauseIncomplete {
		t.Errorf("Recover = %s (%s), want rolled-back because incomplete", res.Outcome, res.Cause)
	}
	if want := "not sent: update of service " + d.stack + "_api"; res.Reason != want {
		t.Errorf("reason = %q, want %q", res.Reason, want)
	}
	if d.secretExists("pw2") {
		t.Error("the secret the deploy created is still there")
	}
	if n := d.serviceUpdates() - updates; n != 0 {
		t.Errorf("Recover sent %d service updates for a service the deploy never updated", n)
	}
	if d.service("api").Spec.Labels[stack.LabelSpecHash] != v1Hash {
		t.Error("the api left v1")
	}
}

func (d *deployer) serviceUpdates() int {
	d.api.mu.Lock()
	defer d.api.mu.Unlock()
	n := 0
	for _, c := range d.api.calls {
		if strings.HasPrefix(c, "service update ") {
			n++
		}
	}
	return n
}
