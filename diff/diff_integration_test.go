package diff_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// These tests run on the real swarm: the stack file is rendered by the stack
// package, the live state read by cluster.ReadStack.

func planFor(t *testing.T, d *cluster.Docker, desired *stack.Desired) diff.Plan {
	t.Helper()
	live, err := d.ReadStack(t.Context(), desired.Stack)
	if err != nil {
		t.Fatal(err)
	}
	return diff.Compute(desired, live)
}

func wantOutline(t *testing.T, p diff.Plan, name string, want []string) {
	t.Helper()
	got := outline(p)
	for i := range got {
		got[i] = strings.ReplaceAll(got[i], name, "STACK")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
}

func TestDockerDeployedStackGivesAdoptPlanThenNoChanges(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	dockerDeploy(t, name, "testdata/shop/stack.yml")
	desired := loadShop(t, name)

	adopt := []string{
		"  Annotations.Labels[io.flotilla.managed]: (none) => true",
		"  Annotations.Labels[io.flotilla.stack]: (none) => STACK",
	}
	p := planFor(t, d, desired)
	wantOutline(t, p, name, concat(
		[]string{"update secret STACK_db_pw (none)"}, adopt,
		[]string{"update config STACK_app_conf (none)"}, adopt,
		[]string{"update service STACK_api (in place)"}, adopt,
		[]string{"update service STACK_worker (in place)"}, adopt,
	))

	converge(t, d, desired)
}

func TestManualDriftShowsOnExactlyThoseFields(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	desired := loadShop(t, name)
	converge(t, d, desired)

	docker(t, "service", "update", "--detach", "--env-add", "X=1", name+"_api")
	docker(t, "service", "scale", "--detach", name+"_worker=2")
	p := planFor(t, d, desired)
	wantOutline(t, p, name, []string{
		"update service STACK_api (rolling restart)",
		"  TaskTemplate.ContainerSpec.Env[X]: 1 => (none)",
		"update service STACK_worker (in place)",
		"  Mode.Replicated.Replicas: 2 => 0",
	})

	converge(t, d, desired)
}

func TestStackFileChangeShowsExactlyTheChangedFields(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	converge(t, d, loadShop(t, name))

	dir := t.TempDir()
	for _, f := range []string{"db_pw.txt", "app.conf"} {
		copyFile(t, filepath.Join("testdata/shop", f), filepath.Join(dir, f))
	}
	b, err := os.ReadFile("testdata/shop/stack.yml")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.NewReplacer(
		"VERSION: v1", "VERSION: v2",
		"parallelism: 2", "parallelism: 3",
	).Replace(string(b))
	if err := os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	desired, err := stack.Load(t.Context(), os.DirFS(dir), stack.Options{Files: []string{"stack.yml"}, Stack: name})
	if err != nil {
		t.Fatal(err)
	}
	p := planFor(t, d, desired)
	wantOutline(t, p, name, []string{
		"update service STACK_api (rolling restart)",
		"  TaskTemplate.ContainerSpec.Env[VERSION]: v1 => v2",
		"  UpdateConfig.Parallelism: 2 => 3",
	})
	converge(t, d, desired)
}

func TestUnlabelledServiceWithTheStacksNameIsAConflict(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	zero := uint64(0)
	if _, _, err := d.CreateService(t.Context(), swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: name + "_api"},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: swarmtest.ImageV1}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}},
	}, cluster.ServiceOptions{}); err != nil {
		t.Fatal(err)
	}
	p := planFor(t, d, loadShop(t, name))
	conflicts := p.Conflicts()
	if len(conflicts) != 1 || conflicts[0].Name != name+"_api" || conflicts[0].Kind != diff.KindService {
		t.Fatalf("conflicts = %v, want one for service %s_api", outline(p), name)
	}
	if !strings.Contains(conflicts[0].Conflict, "not created by docker stack deploy or Flotilla") {
		t.Errorf("conflict message %q does not say why", conflicts[0].Conflict)
	}
	// Without the service in the stack file it is still never deleted.
	desired := loadShop(t, name)
	desired.Services = desired.Services[1:]
	for _, c := range planFor(t, d, desired).Changes {
		if c.Name == name+"_api" {
			t.Errorf("unlabelled service appears in the plan as %s", c.Action)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAdoptedSecretsKeepDockersNamesUntilTheirContentChanges: a stack that
// `docker stack deploy` created, adopted with versioned names (what `flotilla
// deploy` renders), converges in one deploy: the adopted secret and config
// keep docker's names, so the next plan is empty.
func TestAdoptedSecretsKeepDockersNamesUntilTheirContentChanges(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	dockerDeploy(t, name, "testdata/shop/stack.yml")
	v, err := secrets.NewVersioner(secrets.NewValue([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	desired, err := stack.Load(t.Context(), os.DirFS("testdata/shop"), stack.Options{Files: []string{"stack.yml"}, Stack: name, Version: v.Version})
	if err != nil {
		t.Fatal(err)
	}
	if desired.Secrets[0].Name == name+"_db_pw" {
		t.Fatalf("the secret is not versioned: %s", desired.Secrets[0].Name)
	}
	p := planFor(t, d, desired)
	for _, c := range p.Changes {
		if c.Action != diff.ActionNoop && (c.Action != diff.ActionUpdate || c.Effect != diff.EffectNone && c.Effect != diff.EffectInPlace) {
			t.Errorf("adopting: %s %s %s (%s), want only label updates", c.Action, c.Kind, c.Name, c.Effect)
		}
	}
	// converge fails when a second plan still has changes.
	converge(t, d, desired)
	live, err := d.ReadStack(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if len(live.Secrets) != 1 || live.Secrets[0].Spec.Name != name+"_db_pw" || live.Secrets[0].Spec.Labels[stack.LabelVersion] == "" {
		t.Errorf("secrets after adoption: %+v, want %s_db_pw with its version recorded", live.Secrets, name)
	}
	if len(live.Configs) != 1 || live.Configs[0].Spec.Name != name+"_app_conf" {
		t.Errorf("configs after adoption: %+v, want %s_app_conf", live.Configs, name)
	}

	// New content: a versioned name, and docker's is superseded.
	dir := t.TempDir()
	copyFile(t, "testdata/shop/stack.yml", filepath.Join(dir, "stack.yml"))
	copyFile(t, "testdata/shop/app.conf", filepath.Join(dir, "app.conf"))
	if err := os.WriteFile(filepath.Join(dir, "db_pw.txt"), []byte("rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	rotated, err := stack.Load(t.Context(), os.DirFS(dir), stack.Options{Files: []string{"stack.yml"}, Stack: name, Version: v.Version})
	if err != nil {
		t.Fatal(err)
	}
	p = planFor(t, d, rotated)
	got := map[string]diff.Change{}
	for _, c := range p.Changes {
		if c.Action != diff.ActionNoop {
			got[string(c.Action)+" "+c.Name] = c
		}
	}
	if c, ok := got["delete "+name+"_db_pw"]; !ok || !c.Superseded {
		t.Errorf("plan %v: want docker's %s_db_pw deleted as superseded", outline(p), name)
	}
	if _, ok := got["create "+rotated.Secrets[0].Name]; !ok {
		t.Errorf("plan %v: want %s created", outline(p), rotated.Secrets[0].Name)
	}
	if _, ok := got["update "+name+"_api"]; !ok || len(got) != 3 {
		t.Errorf("plan %v: want exactly the secret's rotation and the update of %s_api", outline(p), name)
	}
}
