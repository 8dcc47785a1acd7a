package apply_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// countingClient counts the engine's write calls.
type countingClient struct {
	client.APIClient
	writes atomic.Int64
	mu     gosync.Mutex
	calls  []string
}

func (c *countingClient) count(what string) {
	c.writes.Add(1)
	c.mu.Lock()
	c.calls = append(c.calls, what)
	c.mu.Unlock()
}

func (c *countingClient) ServiceCreate(ctx context.Context, s swarm.ServiceSpec, o swarm.ServiceCreateOptions) (swarm.ServiceCreateResponse, error) {
	c.count("service create " + s.Name)
	return c.APIClient.ServiceCreate(ctx, s, o)
}
func (c *countingClient) ServiceUpdate(ctx context.Context, id string, v swarm.Version, s swarm.ServiceSpec, o swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error) {
	c.count("service update " + s.Name)
	return c.APIClient.ServiceUpdate(ctx, id, v, s, o)
}
func (c *countingClient) ServiceRemove(ctx context.Context, id string) error {
	c.count("service remove " + id)
	return c.APIClient.ServiceRemove(ctx, id)
}
func (c *countingClient) NetworkCreate(ctx context.Context, name string, o network.CreateOptions) (network.CreateResponse, error) {
	c.count("network create " + name)
	return c.APIClient.NetworkCreate(ctx, name, o)
}
func (c *countingClient) NetworkRemove(ctx context.Context, id string) error {
	c.count("network remove " + id)
	return c.APIClient.NetworkRemove(ctx, id)
}
func (c *countingClient) SecretCreate(ctx context.Context, s swarm.SecretSpec) (swarm.SecretCreateResponse, error) {
	c.count("secret create " + s.Name)
	return c.APIClient.SecretCreate(ctx, s)
}
func (c *countingClient) SecretUpdate(ctx context.Context, id string, v swarm.Version, s swarm.SecretSpec) error {
	c.count("secret update " + s.Name)
	return c.APIClient.SecretUpdate(ctx, id, v, s)
}
func (c *countingClient) SecretRemove(ctx context.Context, id string) error {
	c.count("secret remove " + id)
	return c.APIClient.SecretRemove(ctx, id)
}
func (c *countingClient) ConfigCreate(ctx context.Context, s swarm.ConfigSpec) (swarm.ConfigCreateResponse, error) {
	c.count("config create " + s.Name)
	return c.APIClient.ConfigCreate(ctx, s)
}
func (c *countingClient) ConfigUpdate(ctx context.Context, id string, v swarm.Version, s swarm.ConfigSpec) error {
	c.count("config update " + s.Name)
	return c.APIClient.ConfigUpdate(ctx, id, v, s)
}
func (c *countingClient) ConfigRemove(ctx context.Context, id string) error {
	c.count("config remove " + id)
	return c.APIClient.ConfigRemove(ctx, id)
}

// deployer runs the whole pass on one stack: render, read live, plan, apply.
type deployer struct {
	t      *testing.T
	stack  string
	api    *countingClient
	docker *cluster.Docker
	// files holds what the stack file refers to (config and secret files).
	files fstest.MapFS
	// decrypt and version, when set, are the stack loader's hooks.
	decrypt func(path string, ciphertext []byte) (secrets.Value, error)
	version func([]byte) string
}

func newDeployer(t *testing.T) *deployer {
	c := swarmtest.Client(t)
	swarmtest.Images(t)
	api := &countingClient{APIClient: c}
	return &deployer{t: t, stack: swarmtest.Stack(t), api: api, docker: cluster.NewFromClient(api), files: fstest.MapFS{}}
}

// plan renders the stack file and diffs it with the live stack.
func (d *deployer) plan(file string, vars map[string]string) diff.Plan {
	d.t.Helper()
	ctx := d.t.Context()
	d.files["stack.yml"] = &fstest.MapFile{Data: []byte(file)}
	desired, err := stack.Load(ctx, d.files, stack.Options{
		Files: []string{"stack.yml"}, Stack: d.stack, Variables: vars, APIVersion: d.docker.APIVersion(),
		Decrypt: d.decrypt, Version: d.version})
	if err != nil {
		d.t.Fatalf("rendering: %v", err)
	}
	live, err := d.docker.ReadStack(ctx, d.stack)
	if err != nil {
		d.t.Fatalf("reading live stack: %v", err)
	}
	return diff.Compute(desired, live)
}

func (d *deployer) deploy(file string, vars map[string]string, o apply.Options) (*apply.Result, error) {
	d.t.Helper()
	return apply.Run(d.t.Context(), d.docker, d.plan(file, vars), o)
}

// service inspects one service of the stack by its short name.
func (d *deployer) service(name string) swarm.Service {
	d.t.Helper()
	s, _, err := d.api.ServiceInspectWithRaw(d.t.Context(), d.stack+"_"+name, swarm.ServiceInspectOptions{})
	if err != nil {
		d.t.Fatalf("inspecting %s: %v", name, err)
	}
	return s
}

// failedTasks counts the failed tasks of a service.
func (d *deployer) failedTasks(name string) int {
	d.t.Helper()
	tasks, err := swarmtest.Tasks(d.t.Context(), d.api, d.stack+"_"+name)
	if err != nil {
		d.t.Fatal(err)
	}
	n := 0
	for _, t := range tasks {
		if t.Status.State == swarm.TaskStateFailed || t.Status.State == swarm.TaskStateRejected {
			n++
		}
	}
	return n
}

var swarmSvcOpts = swarm.ServiceInspectOptions{}

func image(s swarm.Service) string { return s.Spec.TaskTemplate.ContainerSpec.Image }

func envOf(s swarm.Service, key string) string {
	for _, e := range s.Spec.TaskTemplate.ContainerSpec.Env {
		if v, ok := strings.CutPrefix(e, key+"="); ok {
			return v
		}
	}
	return ""
}

// slotPorts gives a 2-replica service on the host network one port per slot
// (Swarm expands {{.Task.Slot}} in the environment), so a rolling update on
// this single node keeps one task answering.
func slotPorts(t *testing.T) (base string, ports [2]int) {
	for {
		// Below the ephemeral range (32768 on): FreePort and every
		// outgoing connection of the suite take their ports there.
		b := 2000 + rand.IntN(1200)
		ports = [2]int{b*10 + 1, b*10 + 2}
		if free(ports[0]) && free(ports[1]) {
			return fmt.Sprint(b), ports
		}
	}
}

// free reports whether port can be listened on now.
func free(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
