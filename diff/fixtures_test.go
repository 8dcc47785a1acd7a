package diff_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// shopDesired is, built by hand, what testdata/shop/stack.yml converts to as
// `docker stack deploy` does it, plus Flotilla's ownership labels.
func shopDesired(name string) *stack.Desired {
	scope := func(s string) string { return name + "_" + s }
	own := func(extra map[string]string) map[string]string {
		l := map[string]string{stack.LabelNamespace: name, stack.LabelManaged: "true", stack.LabelStack: name}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	container := map[string]string{stack.LabelNamespace: name}
	replicas := func(n uint64) swarm.ServiceMode {
		return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
	}
	api := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: scope("api"), Labels: own(map[string]string{"tier": "api", stack.LabelImage: "flotilla-test/app:v1"})},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:      "flotilla-test/app:v1",
				Labels:     container,
				Env:        []string{"PORT=8080", "VERSION=v1"},
				Privileges: &swarm.Privileges{},
				DNSConfig:  &swarm.DNSConfig{},
				Secrets: []*swarm.SecretReference{{SecretName: scope("db_pw"),
					File: &swarm.SecretReferenceFileTarget{Name: "db_pw", UID: "0", GID: "0", Mode: 0o444}}},
				Configs: []*swarm.ConfigReference{{ConfigName: scope("app_conf"),
					File: &swarm.ConfigReferenceFileTarget{Name: "/etc/app.conf", UID: "0", GID: "0", Mode: 0o444}}},
			},
			Resources: &swarm.ResourceRequirements{},
			Placement: &swarm.Placement{},
			Networks:  []swarm.NetworkAttachmentConfig{{Target: scope("backend"), Aliases: []string{"api"}}},
		},
		Mode:         replicas(0),
		UpdateConfig: &swarm.UpdateConfig{Parallelism: 2, Order: swarm.UpdateOrderStartFirst},
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP, Ports: []swarm.PortConfig{{
			Protocol: swarm.PortConfigProtocolTCP, TargetPort: 8080, PublishedPort: 18080, PublishMode: swarm.PortConfigPublishModeHost}}},
	}
	worker := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: scope("worker"), Labels: own(map[string]string{stack.LabelImage: "flotilla-test/app:v2"})},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:      "flotilla-test/app:v2",
				Labels:     container,
				Args:       []string{"/app", "sleep", "1h"},
				Privileges: &swarm.Privileges{},
				DNSConfig:  &swarm.DNSConfig{},
			},
			Resources: &swarm.ResourceRequirements{},
			Placement: &swarm.Placement{},
			Networks:  []swarm.NetworkAttachmentConfig{{Target: scope("default"), Aliases: []string{"worker"}}},
		},
		Mode:         replicas(0),
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP},
	}
	return &stack.Desired{
		Stack:    name,
		Services: []stack.Service{{Name: scope("api"), Spec: api}, {Name: scope("worker"), Spec: worker}},
		Networks: []stack.Network{
			{Key: "backend", Name: scope("backend"), Create: network.CreateOptions{Driver: "overlay", Labels: own(nil)}},
			{Key: "default", Name: scope("default"), Create: network.CreateOptions{Driver: "overlay", Labels: own(nil)}},
		},
		Secrets: []stack.Secret{{Key: "db_pw", Name: scope("db_pw"), Source: stack.Source{Kind: stack.SourceFile, Path: "db_pw.txt"},
			Labels: own(nil), Data: secrets.NewValue([]byte("hunter2\n"))}},
		Configs: []stack.Config{{Key: "app_conf", Name: scope("app_conf"), Source: stack.Source{Kind: stack.SourceFile, Path: "app.conf"},
			Labels: own(nil), Data: secrets.NewValue([]byte("mode=fast\n"))}},
	}
}

// service returns a pointer to the named service's spec in d, for tests to
// change.
func service(t testing.TB, d *stack.Desired, name string) *swarm.ServiceSpec {
	t.Helper()
	for i := range d.Services {
		if d.Services[i].Name == name {
			return &d.Services[i].Spec
		}
	}
	t.Fatalf("no service %s in desired stack", name)
	return nil
}

// liveFixture reads a live state captured from the engine by
// `go test -run TestCapture -capture` (see capture_test.go).
func liveFixture(t testing.TB, name string) *stack.Live {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "live", name+".json"))
	if err != nil {
		t.Fatalf("reading live fixture: %v", err)
	}
	var live stack.Live
	if err := json.Unmarshal(b, &live); err != nil {
		t.Fatalf("decoding live fixture %s: %v", name, err)
	}
	return &live
}

// writeLiveFixture saves a live state with the engine's timestamps removed so that recapturing changes only what
// the engine really stores differently.
func writeLiveFixture(t testing.TB, name string, live *stack.Live) {
	t.Helper()
	for i := range live.Services {
		live.Services[i].CreatedAt, live.Services[i].UpdatedAt = time.Time{}, time.Time{}
		live.Services[i].UpdateStatus = nil
	}
	for i := range live.Secrets {
		live.Secrets[i].CreatedAt, live.Secrets[i].UpdatedAt = time.Time{}, time.Time{}
	}
	for i := range live.Configs {
		live.Configs[i].CreatedAt, live.Configs[i].UpdatedAt = time.Time{}, time.Time{}
	}
	for i := range live.Networks {
		live.Networks[i].Created = time.Time{}
	}
	b, err := json.MarshalIndent(live, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if err := os.MkdirAll(filepath.Join("testdata", "live"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "live", name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func secretValue(s string) secrets.Value { return secrets.NewValue([]byte(s)) }
