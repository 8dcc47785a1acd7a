package cluster_test

import (
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// engineError is an error the engine returned, and the class it must have.
type engineError struct {
	what string
	err  error
	want string
}

// TestEngineErrorsAreClassified provokes each kind of error the other
// packages branch on, on the real engine, and checks that exactly its
// predicate recognises it.
func TestEngineErrorsAreClassified(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	swarmtest.Images(t)
	ctx := t.Context()
	name := swarmtest.Stack(t)

	secret := swarm.SecretSpec{Annotations: swarm.Annotations{Name: name + "_pw"}, Data: []byte("x")}
	secretID, err := d.CreateSecret(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	config := swarm.ConfigSpec{Annotations: swarm.Annotations{Name: name + "_cf"}, Data: []byte("x")}
	configID, err := d.CreateConfig(ctx, config)
	if err != nil {
		t.Fatal(err)
	}
	networkID, err := d.CreateNetwork(ctx, name+"_net", network.CreateOptions{Driver: "overlay"})
	if err != nil {
		t.Fatal(err)
	}
	serviceID, _, err := d.CreateService(ctx, swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name + "_api"},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: swarmtest.ImageV1,
				Secrets: []*swarm.SecretReference{{SecretID: secretID, SecretName: name + "_pw",
					File: &swarm.SecretReferenceFileTarget{Name: "pw", UID: "0", GID: "0", Mode: 0o444}}},
				Configs: []*swarm.ConfigReference{{ConfigID: configID, ConfigName: name + "_cf",
					File: &swarm.ConfigReferenceFileTarget{Name: "/cf", UID: "0", GID: "0", Mode: 0o444}}},
			},
			Networks: []swarm.NetworkAttachmentConfig{{Target: networkID}},
		},
		Mode: replicas(0),
	}, cluster.ServiceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := d.InspectService(ctx, serviceID)
	if err != nil {
		t.Fatal(err)
	}

	var errs []engineError
	add := func(what string, err error, want string) { errs = append(errs, engineError{what, err, want}) }
	_, err = d.CreateSecret(ctx, secret)
	add("creating a secret twice", err, "conflict")
	_, err = d.CreateConfig(ctx, config)
	add("creating a config twice", err, "conflict")
	add("removing a secret in use", d.RemoveSecret(ctx, secretID), "in use")
	add("removing a config in use", d.RemoveConfig(ctx, configID), "in use")
	add("removing a network in use", d.RemoveNetwork(ctx, networkID), "in use")
	stale := swarm.Version{Index: svc.Version.Index - 1}
	_, err = d.UpdateService(ctx, serviceID, stale, svc.Spec, cluster.ServiceOptions{})
	add("updating a service with a stale version", err, "out of sequence")
	if err := d.RemoveService(ctx, serviceID); err != nil {
		t.Fatal(err)
	}
	add("removing a removed service", d.RemoveService(ctx, serviceID), "not found")
	_, err = d.InspectService(ctx, serviceID)
	add("inspecting a removed service", err, "not found")

	predicates := map[string]func(error) bool{
		"not found":       cluster.IsNotFound,
		"conflict":        cluster.IsConflict,
		"in use":          cluster.IsInUse,
		"out of sequence": cluster.IsOutOfSequence,
	}
	for _, e := range errs {
		if e.err == nil {
			t.Errorf("%s: no error, want %s", e.what, e.want)
			continue
		}
		for c, is := range predicates {
			if got := is(e.err); got != (c == e.want) {
				t.Errorf("%s: %s is %v for %q", e.what, c, got, e.err)
			}
		}
	}
	for c, is := range predicates {
		if is(nil) {
			t.Errorf("nil error is %s", c)
		}
	}
}
