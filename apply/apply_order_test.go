package apply

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

func svcSpec(name, image string, replicas uint64) swarm.ServiceSpec {
	return swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: name, Labels: map[string]string{stack.LabelSpecHash: name + image}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}
}

func createService(name, image string) diff.Change {
	return diff.Change{Kind: diff.KindService, Name: name, Action: diff.ActionCreate,
		Service: &stack.Service{Name: name, Spec: svcSpec(name, image, 1)}}
}

// existing puts a service into the fake and returns an update change for it.
func existing(f *fakeCluster, name, oldImage, newImage string, force uint64) diff.Change {
	spec := svcSpec(name, oldImage, 2)
	spec.TaskTemplate.ForceUpdate = force
	id, _, _ := f.CreateService(context.Background(), spec, cluster.ServiceOptions{})
	f.calls = nil
	live := f.services[id]
	return diff.Change{Kind: diff.KindService, Name: name, Action: diff.ActionUpdate,
		Service: &stack.Service{Name: name, Spec: svcSpec(name, newImage, 2)},
		Live:    &diff.Live{ID: id, Version: live.Version, Spec: &live.Spec}}
}

var fast = Options{Monitor: time.Millisecond, PollInterval: time.Millisecond, ProgressDeadline: 10 * time.Second}

func TestRunCreatesInOrder(t *testing.T) {
	f := newFake()
	api := createService("shop_api", "app:v1")
	api.Service.Spec.TaskTemplate.ContainerSpec.Secrets = []*swarm.SecretReference{{SecretName: "shop_pw"}}
	api.Service.Spec.TaskTemplate.ContainerSpec.Configs = []*swarm.ConfigReference{{ConfigName: "shop_conf"}}
	plan := diff.Plan{Stack: "shop", Changes: []diff.Change{
		{Kind: diff.KindNetwork, Name: "shop_default", Action: diff.ActionCreate, Network: &stack.Network{Name: "shop_default"}},
		{Kind: diff.KindSecret, Name: "shop_pw", Action: diff.ActionCreate, Secret: &stack.Secret{Name: "shop_pw", Data: secrets.NewValue([]byte("pw"))}},
		{Kind: diff.KindConfig, Name: "shop_conf", Action: diff.ActionCreate, Config: &stack.Config{Name: "shop_conf", Data: secrets.NewValue([]byte("c"))}},
		api,
	}}
	res, err := Run(t.Context(), f, plan, fast)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"create network shop_default", "create secret shop_pw", "create config shop_conf", "create service shop_api"}
	if diff := cmp.Diff(want, f.writes()); diff != "" {
		t.Errorf("write calls (-want +got):\n%s", diff)
	}
	if got := f.services["svc4"].Spec.TaskTemplate.ContainerSpec.Secrets[0].SecretID; got != "sec2" {
		t.Errorf("secret reference ID = %q, want the created secret's sec2", got)
	}
	if api.Service.Spec.TaskTemplate.ContainerSpec.Secrets[0].SecretID != "" {
		t.Error("Run changed the plan's spec while filling in IDs")
	}
	if !slices.Equal(res.Created, []string{"shop_default", "shop_pw", "shop_conf", "shop_api"}) {
		t.Errorf("Created = %v", res.Created)
	}
}

func TestRunNoopPlanWritesNothing(t *testing.T) {
	f := newFake()
	up := existing(f, "shop_api", "app:v1", "app:v1", 0)
	up.Action = diff.ActionNoop
	plan := diff.Plan{Stack: "shop", Changes: []diff.Change{
		{Kind: diff.KindSecret, Name: "shop_pw", Action: diff.ActionNoop, Live: &diff.Live{ID: "s1"}},
		up,
	}}
	if _, err := Run(t.Context(), f, plan, fast); err != nil {
		t.Fatal(err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("a no-op plan made write calls: %v", w)
	}
}

func TestRunRefusesConflicts(t *testing.T) {
	f := newFake()
	plan := diff.Plan{Stack: "shop", Changes: []diff.Change{
		createService("shop_web", "app:v1"),
		{Kind: diff.KindService, Name: "shop_api", Action: diff.ActionConflict, Conflict: "service shop_api exists but was not deployed by a stack"},
	}}
	_, err := Run(t.Context(), f, plan, fast)
	var ce *ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "shop_api exists") {
		t.Fatalf("err = %v, want a ConflictError naming shop_api", err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("a conflicting plan made write calls: %v", w)
	}
}

func TestUpdateKeepsForceUpdateAndVersion(t *testing.T) {
	f := newFake()
	up := existing(f, "shop_api", "app:v1", "app:v2", 7)
	if _, err := Run(t.Context(), f, diff.Plan{Stack: "shop", Changes: []diff.Change{up}}, fast); err != nil {
		t.Fatal(err)
	}
	want := []string{"update service shop_api@1 force=7 image=app:v2"}
	if diff := cmp.Diff(want, f.writes()); diff != "" {
		t.Errorf("write calls (-want +got):\n%s", diff)
	}
}

func TestUpdateOutOfSequenceRereadsOnce(t *testing.T) {
	f := newFake()
	up := existing(f, "shop_api", "app:v1", "app:v2", 0)
	// Someone scales the service after the plan was made: version moves on.
	s := f.services[up.Live.ID]
	s.Version.Index = 5
	f.services[up.Live.ID] = s
	if _, err := Run(t.Context(), f, diff.Plan{Stack: "shop", Changes: []diff.Change{up}}, fast); err != nil {
		t.Fatal(err)
	}
	want := []string{"update service shop_api@1 force=0 image=app:v2", "update service shop_api@5 force=0 image=app:v2"}
	if diff := cmp.Diff(want, f.writes()); diff != "" {
		t.Errorf("write calls (-want +got):\n%s", diff)
	}

	// Changing under us every time: give up after one re-read, clearly.
	f = newFake()
	up = existing(f, "shop_api", "app:v1", "app:v2", 0)
	f.updateErr = func(string, swarm.Version) error {
		return errors.New("rpc error: code = Unknown desc = update out of sequence")
	}
	_, err := Run(t.Context(), f, diff.Plan{Stack: "shop", Changes: []diff.Change{up}}, Options{OnFailure: Pause})
	if err == nil || !strings.Contains(err.Error(), "changed twice while deploying") {
		t.Fatalf("err = %v, want the out-of-sequence failure", err)
	}
	if n := len(f.writes()); n != 2 {
		t.Errorf("%d update attempts, want 2: %v", n, f.writes())
	}
}

// A secret provided by a secret driver is created with the driver's options,
// as docker stack deploy sends them.
func TestDriverSecretKeepsItsOptions(t *testing.T) {
	f := newFake()
	plan := diff.Plan{Stack: "shop", Changes: []diff.Change{{Kind: diff.KindSecret, Name: "shop_vault", Action: diff.ActionCreate,
		Secret: &stack.Secret{Name: "shop_vault", Source: stack.Source{Kind: stack.SourceDriver}, Driver: "vault",
			DriverOpts: map[string]string{"path": "kv/shop"}}}}}
	if _, err := Run(t.Context(), f, plan, fast); err != nil {
		t.Fatal(err)
	}
	want := []string{"create secret shop_vault driver=vault opts=map[path:kv/shop]"}
	if diff := cmp.Diff(want, f.writes()); diff != "" {
		t.Errorf("write calls (-want +got):\n%s", diff)
	}
}
