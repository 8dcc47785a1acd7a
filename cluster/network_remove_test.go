package cluster_test

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// A swarm network is gone when RemoveNetwork returns: neither listed nor
// found, so that a deploy reading the stack right after plans to create it
// again (engine 20.10 lists a removed one for a moment).
func TestRemovedNetworkIsGoneOnReturn(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	swarmtest.Images(t)
	ctx := t.Context()
	name := swarmtest.Stack(t)
	labels := map[string]string{stack.LabelNamespace: name}
	for i := range 3 {
		id, err := d.CreateNetwork(ctx, name+"_default", network.CreateOptions{Driver: "overlay", Labels: labels})
		if err != nil {
			t.Fatalf("creating the network (round %d): %v", i, err)
		}
		// A task attached to it, as in a deploy rolled back: the network
		// is freed when the task's endpoint is torn down.
		svc, _, err := d.CreateService(ctx, swarm.ServiceSpec{
			Annotations: swarm.Annotations{Name: name + "_web", Labels: labels},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: swarmtest.ImageV1},
				Networks: []swarm.NetworkAttachmentConfig{{Target: id}}},
		}, cluster.ServiceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		swarmtest.WaitRunning(t, d.API(), name+"_web", 1, time.Minute)
		if err := d.RemoveService(ctx, svc); err != nil {
			t.Fatal(err)
		}
		swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
			err := d.RemoveNetwork(ctx, id)
			if cluster.IsInUse(err) {
				return false, "network still in use", nil
			}
			return true, "", err
		})
		if _, err := d.API().NetworkInspect(ctx, id, network.InspectOptions{}); !cluster.IsNotFound(err) {
			t.Errorf("round %d: inspecting the removed network: %v, want not found", i, err)
		}
		live, err := d.ReadStack(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(live.Networks) != 0 {
			t.Errorf("round %d: the stack still lists %d networks after RemoveNetwork returned", i, len(live.Networks))
		}
	}
}
