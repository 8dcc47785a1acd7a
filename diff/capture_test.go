package diff_test

import (
	"context"
	"flag"
	"os/exec"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

var capture = flag.Bool("capture", false, "capture the live fixtures in testdata/live from the engine")

// TestCapture records what the engine stores for the shop stack, deployed
// each way the Compute tests need, as testdata/live/*.json:
//
//	go test ./diff -run TestCapture -capture
func TestCapture(t *testing.T) {
	if !*capture {
		t.Skip("run with -capture to record live fixtures from the engine")
	}
	c := swarmtest.Client(t)
	swarmtest.Images(t)
	d := cluster.NewFromClient(c)
	ctx := t.Context()
	read := func(name string) *stack.Live {
		live, err := d.ReadStack(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return live
	}

	t.Run("docker", func(t *testing.T) {
		name := fixtureStack(t, c)
		dockerDeploy(t, name, "testdata/shop/stack.yml")
		writeLiveFixture(t, "docker", read(name))
	})
	t.Run("applied", func(t *testing.T) {
		name := fixtureStack(t, c)
		applyPlan(t, d, diff.Compute(shopDesired(name), read(name)))
		writeLiveFixture(t, "applied", read(name))

		docker(t, "service", "update", "--detach", "--env-add", "X=1", name+"_api")
		writeLiveFixture(t, "drift-env", read(name))
		docker(t, "service", "scale", "--detach", name+"_worker=2")
		writeLiveFixture(t, "drift-env-scale", read(name))
	})
	t.Run("conflict", func(t *testing.T) {
		name := fixtureStack(t, c)
		zero := uint64(0)
		_, _, err := d.CreateService(ctx, swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: name + "_api", Labels: map[string]string{"owner": "someone-else"}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: swarmtest.ImageV1}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}},
		}, cluster.ServiceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		writeLiveFixture(t, "conflict", read(name))
	})
}

// fixtureStack returns the fixed stack name the fixtures are captured under
// ("shop", so that spec-hash labels stay valid), removing the stack before
// and after the subtest.
func fixtureStack(t *testing.T, c client.APIClient) string {
	t.Helper()
	const name = "shop"
	if err := swarmtest.RemoveStack(t.Context(), c, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := swarmtest.RemoveStack(context.Background(), c, name); err != nil {
			t.Errorf("removing fixture stack: %v", err)
		}
	})
	return name
}

// dockerDeploy deploys a stack file with the docker CLI, the reference.
func dockerDeploy(t testing.TB, name, file string) {
	t.Helper()
	swarmtest.DockerStackDeploy(t, "", name, nil, file)
}

func docker(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %v: %v\n%s", args, err, out)
	}
}
