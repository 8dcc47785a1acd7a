package apply

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

func TestFailedDeployRollsBackTheStack(t *testing.T) {
	f := newFake()
	f.crash = func(s swarm.ServiceSpec) bool { return s.TaskTemplate.ContainerSpec.Image == "app:crash" }
	api := existing(f, "shop_api", "app:v1", "app:v2", 3)
	web := existing(f, "shop_web", "app:v1", "app:crash", 0)
	plan := diff.Plan{Stack: "shop", Changes: []diff.Change{
		{Kind: diff.KindSecret, Name: "shop_pw", Action: diff.ActionCreate, Secret: &stack.Secret{Name: "shop_pw", Data: secrets.NewValue([]byte("pw"))}},
		api, web,
		createService("shop_worker", "app:v2"),
	}}
	res, err := Run(t.Context(), f, plan, fast)
	var fe *FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a FailedError", err)
	}
	if fe.RollbackErr != nil {
		t.Fatalf("rollback failed: %v", fe.RollbackErr)
	}
	if !strings.Contains(err.Error(), "shop_web") || !strings.Contains(err.Error(), "non-zero exit (3)") {
		t.Errorf("error %q does not name the failing service and its task error", err)
	}
	for _, id := range []string{api.Live.ID, web.Live.ID} {
		got := f.services[id].Spec
		if got.TaskTemplate.ContainerSpec.Image != "app:v1" {
			t.Errorf("service %s: image %s after rollback, want app:v1", got.Name, got.TaskTemplate.ContainerSpec.Image)
		}
	}
	if got := f.services[api.Live.ID].Spec.TaskTemplate.ForceUpdate; got != 3 {
		t.Errorf("ForceUpdate = %d after rollback, want the previous spec's 3", got)
	}
	for _, s := range f.services {
		if s.Spec.Name == "shop_worker" {
			t.Error("shop_worker, created by the failed deploy, is still there")
		}
	}
	if !slices.Contains(f.writes(), "remove secret sec3") {
		t.Errorf("the secret created for the failed deploy was not removed: %v", f.writes())
	}
	want := []string{"shop_api", "shop_pw", "shop_web", "shop_worker"}
	if diff := cmp.Diff(want, res.RolledBack); diff != "" {
		t.Errorf("RolledBack (-want +got):\n%s", diff)
	}
}

func TestFailedDeployPausesWhenAsked(t *testing.T) {
	f := newFake()
	f.crash = func(s swarm.ServiceSpec) bool { return true }
	web := existing(f, "shop_web", "app:v1", "app:crash", 0)
	o := fast
	o.OnFailure = Pause
	_, err := Run(t.Context(), f, diff.Plan{Stack: "shop", Changes: []diff.Change{web}}, o)
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Kind != FailurePaused {
		t.Fatalf("err = %v, want a paused FailedError", err)
	}
	if got := f.services[web.Live.ID].Spec.TaskTemplate.ContainerSpec.Image; got != "app:crash" {
		t.Errorf("image %s, want the failed spec left in place", got)
	}
}

// A service whose tasks never run fails the deploy when the progress
// deadline passes, and the stack rolls back.
func TestProgressDeadlineFailsTheDeploy(t *testing.T) {
	f := newFake()
	f.stuck = func(s swarm.ServiceSpec) bool { return s.TaskTemplate.ContainerSpec.Image == "app:slow" }
	web := existing(f, "shop_web", "app:v1", "app:slow", 0)
	o := fast
	o.ProgressDeadline = 50 * time.Millisecond
	_, err := Run(t.Context(), f, diff.Plan{Stack: "shop", Changes: []diff.Change{web}}, o)
	var ce *ConvergeError
	if !errors.As(err, &ce) || !ce.Deadline || !strings.Contains(err.Error(), "shop_web: 0/2") {
		t.Fatalf("err = %v, want a progress-deadline failure naming shop_web", err)
	}
	if got := f.services[web.Live.ID].Spec.TaskTemplate.ContainerSpec.Image; got != "app:v1" {
		t.Errorf("image %s after the deadline, want the rolled-back app:v1", got)
	}
}
