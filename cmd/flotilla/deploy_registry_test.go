package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/registrytest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// flotillaEnv runs the flotilla binary in dir with the process environment
// minus the DOCKER_* variables, plus env; stdin, when not empty, is its
// standard input. It returns stdout, stderr and the exit status.
func flotillaEnv(t *testing.T, dir string, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), buildFlotilla(t), args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running flotilla %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

const registryStackFile = `
services:
  web:
    image: ${REGISTRY}/app:${TAG}
    deploy:
      restart_policy: {condition: any, delay: 1s}
`

// TestDeployWithRegistryAuth: `flotilla deploy` as in a CI job, with the
// variables in the environment and the docker configuration of a
// `docker login`: without --with-registry-auth the node can't pull and the
// deploy fails, naming the image and the registry; with it the service
// pins the pushed digest and a diff afterwards is empty.
func TestDeployWithRegistryAuth(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	digest := reg.Push(t, "app:v2")
	c := swarmtest.Client(t)
	name := swarmtest.Stack(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"stack.yml": registryStackFile})
	env := []string{"REGISTRY=" + reg.Host, "TAG=v2", "DOCKER_CONFIG=" + reg.DockerConfig(t)}
	ref := reg.Host + "/app:v2"

	stdout, stderr, code := flotillaEnv(t, dir, env, "", "deploy", "-c", "stack.yml", "--timeout", "2m", name)
	if code != 1 || !strings.Contains(stderr, "image "+ref+" could not be pulled from registry "+reg.Host) ||
		!strings.Contains(stderr, "--with-registry-auth") || !strings.Contains(stdout, "Rolled back: ") {
		t.Fatalf("deploy without --with-registry-auth: status %d, want 1 naming the image and the registry\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if objs := stackObjects(t, c, name); len(objs) != 0 {
		t.Errorf("after the failed deploy the stack holds %v, want nothing", objs)
	}

	stdout, stderr, code = flotillaEnv(t, dir, env, "", "deploy", "-c", "stack.yml", "--with-registry-auth", "--timeout", "2m", name)
	if code != 0 {
		t.Fatalf("deploy --with-registry-auth: status %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	svc, _, err := c.ServiceInspectWithRaw(t.Context(), name+"_web", swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Spec.TaskTemplate.ContainerSpec.Image; got != ref+"@"+digest {
		t.Errorf("service image %s, want %s@%s", got, ref, digest)
	}
	if got := svc.Spec.Labels[stack.LabelImage]; got != ref {
		t.Errorf("label %s = %s, want %s", stack.LabelImage, got, ref)
	}
	// The stack file from standard input, the same variables: no changes.
	stdout, stderr, code = flotillaEnv(t, dir, env, registryStackFile, "diff", "-c", "-", "--with-registry-auth", "--exit-code", name)
	if code != 0 {
		t.Errorf("diff after the deploy: status %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
