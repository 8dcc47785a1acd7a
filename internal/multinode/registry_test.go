package multinode

import (
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/internal/registrytest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

const privateStack = `
services:
  web:
    image: ${REGISTRY}/app:v2
    deploy:
      replicas: 2
      placement: {constraints: [node.role == worker], max_replicas_per_node: 1}
      restart_policy: {delay: 1s}
      update_config: {monitor: 1s}
`

// An image in a private registry runs on workers that never logged in:
// `flotilla deploy --with-registry-auth` sends the credentials of the
// deployer's `docker login` with the service, and the swarm hands them to
// every node that pulls. Without them the workers can't pull and the
// deploy fails, naming the image.
func TestWorkersPullWithTheServiceCredentials(t *testing.T) {
	t.Parallel()
	c := workers(t)
	reg := registrytest.StartOn(t, swarmtest.RegistryIP, c.Manager().Client)
	for _, w := range c.Workers() {
		reg.PulledBy(w.Client)
	}
	digest := reg.Push(t, "app:v2")
	stack := c.Stack(t)
	ref := reg.Host + "/app:v2"
	for _, n := range c.Nodes {
		if _, err := n.Client.ImageInspect(t.Context(), ref); err == nil {
			t.Fatalf("%s already has %s: the test proves nothing", n.Name, ref)
		}
	}
	vars := map[string]string{"REGISTRY": reg.Host, "DOCKER_CONFIG": reg.DockerConfig(t)}

	// The tag is not resolved on the manager: the workers try to pull.
	stdout, stderr, code := deploy(t, c, stack, privateStack, vars)
	if code != 1 || !strings.Contains(stderr, "image "+ref+" could not be pulled from registry "+reg.Host) ||
		!strings.Contains(stdout, "Rolled back: ") {
		t.Fatalf("deploy without --with-registry-auth: status %d, want 1 naming the image and the registry\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// Resolved on the manager with the credentials, pinned, pulled by
	// the workers with the credentials the service carries.
	stdout, stderr, code = deploy(t, c, stack, privateStack, vars, "--resolve-image", "always", "--with-registry-auth")
	if code != 0 {
		t.Fatalf("deploy --with-registry-auth: status %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	svc := service(t, c.Manager(), stack+"_web")
	if got := svc.Spec.TaskTemplate.ContainerSpec.Image; got != ref+"@"+digest {
		t.Errorf("web runs %s, want the pushed digest %s@%s", got, ref, digest)
	}
	where, err := c.TaskNodes(t.Context(), stack+"_web")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range c.Workers() {
		if where[w.Name] != 1 {
			t.Errorf("web's tasks run on %v, want one on each worker", where)
		}
		if _, err := w.Client.ImageInspect(t.Context(), ref+"@"+digest); err != nil {
			t.Errorf("%s has not pulled %s: %v", w.Name, ref, err)
		}
	}
	if _, err := c.Manager().Client.ImageInspect(t.Context(), ref); err == nil {
		t.Errorf("the manager, where no task runs, has %s", ref)
	}
}
