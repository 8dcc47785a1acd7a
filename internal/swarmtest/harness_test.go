package swarmtest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

func replicated(n uint64) swarm.ServiceMode {
	return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
}

func TestServiceAnswersOnHostPort(t *testing.T) {
	t.Parallel()
	c := swarmtest.Client(t)
	swarmtest.Images(t)
	stack := swarmtest.Stack(t)
	port := swarmtest.FreePort(t)
	spec := swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: stack + "_web", Labels: map[string]string{swarmtest.NamespaceLabel: stack}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: swarmtest.ImageV1}},
		Mode:         replicated(1),
		EndpointSpec: &swarm.EndpointSpec{Ports: []swarm.PortConfig{{
			Protocol: swarm.PortConfigProtocolTCP, TargetPort: 8080, PublishedPort: uint32(port), PublishMode: swarm.PortConfigPublishModeHost,
		}}},
	}
	if _, err := c.ServiceCreate(t.Context(), spec, swarm.ServiceCreateOptions{}); err != nil {
		t.Fatal(err)
	}
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		body, err := swarmtest.Get(t.Context(), port)
		return body == "v1", fmt.Sprintf("GET :%d = %q, %v", port, body, err), nil
	})
}

func TestCrashingServiceTasksFail(t *testing.T) {
	t.Parallel()
	c := swarmtest.Client(t)
	swarmtest.Images(t)
	stack := swarmtest.Stack(t)
	spec := swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: stack + "_crash", Labels: map[string]string{swarmtest.NamespaceLabel: stack}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: swarmtest.ImageV1, Env: []string{"CRASH=1"}}},
		Mode:         replicated(1),
	}
	if _, err := c.ServiceCreate(t.Context(), spec, swarm.ServiceCreateOptions{}); err != nil {
		t.Fatal(err)
	}
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		tasks, err := swarmtest.Tasks(t.Context(), c, spec.Name)
		for _, task := range tasks {
			if task.Status.State == swarm.TaskStateFailed {
				if !strings.Contains(task.Status.Err, "non-zero exit (3)") {
					return false, "", fmt.Errorf("task failed with %q, want non-zero exit (3)", task.Status.Err)
				}
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d tasks, none failed yet", len(tasks)), err
	})
}

func TestRemoveStackLeavesNothing(t *testing.T) {
	t.Parallel()
	c := swarmtest.Client(t)
	swarmtest.Images(t)
	stack := swarmtest.Stack(t)
	ctx := t.Context()
	labels := map[string]string{swarmtest.NamespaceLabel: stack}

	if _, err := c.NetworkCreate(ctx, stack+"_net", network.CreateOptions{Driver: "overlay", Labels: labels}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SecretCreate(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: stack + "_pw", Labels: labels}, Data: []byte("hunter2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConfigCreate(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: stack + "_conf", Labels: labels}, Data: []byte("x=1")}); err != nil {
		t.Fatal(err)
	}
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: stack + "_app", Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: swarmtest.ImageV1,
				Secrets: []*swarm.SecretReference{{SecretName: stack + "_pw", File: &swarm.SecretReferenceFileTarget{Name: "pw", UID: "0", GID: "0", Mode: 0o444}}}},
			Networks: []swarm.NetworkAttachmentConfig{{Target: stack + "_net"}},
		},
		Mode: replicated(1),
	}
	// The secret reference needs its ID.
	secrets, err := c.SecretList(ctx, swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", stack+"_pw"))})
	if err != nil || len(secrets) != 1 {
		t.Fatalf("finding secret: %v (%d found)", err, len(secrets))
	}
	spec.TaskTemplate.ContainerSpec.Secrets[0].SecretID = secrets[0].ID
	if _, err := c.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{}); err != nil {
		t.Fatal(err)
	}
	swarmtest.WaitRunning(t, c, spec.Name, 1, time.Minute)
	// Labelled for the stack, named out of its scope.
	misnamed := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "custom-" + stack, Labels: labels},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: swarmtest.ImageV1}}, Mode: replicated(0)}
	if _, err := c.ServiceCreate(ctx, misnamed, swarm.ServiceCreateOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := swarmtest.RemoveStack(ctx, c, stack); err != nil {
		t.Fatal(err)
	}
	prefix := filters.NewArgs(filters.Arg("name", stack))
	svcs, _ := c.ServiceList(ctx, swarm.ServiceListOptions{Filters: prefix})
	byLabel, _ := c.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", swarmtest.NamespaceLabel+"="+stack))})
	svcs = append(svcs, byLabel...)
	allNets, _ := c.NetworkList(ctx, network.ListOptions{})
	var nets []network.Summary
	for _, n := range allNets {
		if strings.HasPrefix(n.Name, stack) {
			nets = append(nets, n)
		}
	}
	secs, _ := c.SecretList(ctx, swarm.SecretListOptions{Filters: prefix})
	cfgs, _ := c.ConfigList(ctx, swarm.ConfigListOptions{Filters: prefix})
	if n := len(svcs) + len(nets) + len(secs) + len(cfgs); n != 0 {
		t.Errorf("after RemoveStack: %d services, %d networks, %d secrets, %d configs left", len(svcs), len(nets), len(secs), len(cfgs))
	}
}
