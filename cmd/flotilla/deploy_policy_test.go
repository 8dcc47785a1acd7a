package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// execFlotilla runs the CLI in-process and returns its stdout and error.
func execFlotilla(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

// TestDeployPolicy: a stack that mounts the Docker socket and uses another
// stack's secret is refused by the default policy before anything is
// created, and deploys when its environment's policy allows exactly that.
func TestDeployPolicy(t *testing.T) {
	t.Parallel()
	c := swarmtest.Client(t)
	swarmtest.Images(t)
	// Cleanups run last first: the stack using the other's secret goes
	// before the other.
	other := swarmtest.Stack(t)
	name := swarmtest.Stack(t)
	otherSecret := other + "_db"
	if _, err := c.SecretCreate(t.Context(), swarm.SecretSpec{
		Annotations: swarm.Annotations{Name: otherSecret, Labels: map[string]string{swarmtest.NamespaceLabel: other}},
		Data:        []byte("the other stack's password"),
	}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	write := func(file, content string) string {
		t.Helper()
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stackFile := write("stack.yml", fmt.Sprintf(`services:
  agent:
    image: %s
    volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
    secrets: [db]
secrets:
  db:
    external: true
    name: %s
`, swarmtest.ImageV1, otherSecret))
	config := func(policy string) string {
		return write("flotilla.yml", fmt.Sprintf(`repos:
  ops: {url: "file:///srv/git/ops.git"}
environments:
  dev: {repo: ops, branch: dev, files: [stack.yml], stack: %s, policy: %s}
  prod: {repo: ops, branch: prod, files: [stack.yml], stack: %s}
`, name, policy, other))
	}
	owned := func() int {
		t.Helper()
		byStack := filters.NewArgs(filters.Arg("label", swarmtest.NamespaceLabel+"="+name))
		services, err1 := c.ServiceList(t.Context(), swarm.ServiceListOptions{Filters: byStack})
		networks, err2 := c.NetworkList(t.Context(), network.ListOptions{Filters: byStack})
		secrets, err3 := c.SecretList(t.Context(), swarm.SecretListOptions{Filters: byStack})
		configs, err4 := c.ConfigList(t.Context(), swarm.ConfigListOptions{Filters: byStack})
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatal(err)
		}
		return len(services) + len(networks) + len(secrets) + len(configs)
	}

	refusals := []struct {
		name string
		args []string
		want []string
	}{
		{"the default policy", []string{"--policy", "default"}, []string{
			"stack.yml", `policy "default"`, "service agent: bind mount /var/run/docker.sock: bind-mount",
			"service agent: external secret " + otherSecret + ": external"}},
		{"a pattern never reaches another stack", []string{"--policy", "env:dev", "--config",
			config(`{bindMounts: [/var/run/docker.sock], externalSecrets: ["ft*"]}`)}, []string{
			`policy "environments.dev.policy"`, "external secret " + otherSecret + ": other-stack: it belongs to stack " + other}},
	}
	for _, r := range refusals {
		for _, command := range []string{"diff", "deploy"} {
			out, err := execFlotilla(t, append([]string{command, "-c", stackFile, name}, r.args...)...)
			if _, ok := errors.AsType[*stack.PolicyError](err); !ok {
				t.Fatalf("%s with %s: %v, want a policy error\n%s", command, r.name, err, out)
			}
			for _, w := range r.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s with %s: error %q lacks %q", command, r.name, err, w)
				}
			}
			if n := owned(); n != 0 {
				t.Fatalf("%s with %s refused the stack but left %d objects of it", command, r.name, n)
			}
		}
	}

	// Without --policy a person with the engine's API deploys what they
	// like; with the environment's policy naming exactly these, the
	// operator would too.
	out, err := execFlotilla(t, "deploy", "-c", stackFile, "--timeout", "2m", "--policy", "env:dev", "--config",
		config(fmt.Sprintf(`{bindMounts: [/var/run/docker.sock], externalSecrets: [%s]}`, otherSecret)), name)
	if err != nil {
		t.Fatalf("deploy allowed by the environment's policy: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Policy: environments.dev.policy") {
		t.Errorf("deploy output does not say which policy it checked:\n%s", out)
	}
	svc, _, err := c.ServiceInspectWithRaw(t.Context(), name+"_agent", swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := svc.Spec.TaskTemplate.ContainerSpec.Mounts; len(m) != 1 || m[0].Source != "/var/run/docker.sock" {
		t.Errorf("deployed mounts %+v, want the socket", m)
	}
	swarmtest.WaitRunning(t, c, name+"_agent", 1, 2*time.Minute)
	if out, err := execFlotilla(t, "diff", "-c", stackFile, "--exit-code", name); err != nil {
		t.Errorf("diff without a policy after the deploy: %v\n%s", err, out)
	}
}
