package main

import (
	"testing"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// TestAdoptionConvergesInOneDeploy: after `docker stack deploy` of a stack
// with file-based secrets and configs, one `flotilla deploy` converges.
func TestAdoptionConvergesInOneDeploy(t *testing.T) {
	t.Parallel()
	swarmtest.Client(t)
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	swarmtest.DockerStackDeploy(t, "", name, nil, shopStack)

	if out, code := runFlotilla(t, "deploy", "-c", shopStack, "--no-color", name); code != 0 {
		t.Fatalf("deploy: status %d\n%s", code, out)
	}
	if out, code := runFlotilla(t, "diff", "-c", shopStack, "--exit-code", "--no-color", name); code != 0 {
		t.Errorf("diff --exit-code after one deploy: status %d, want 0\n%s", code, out)
	}
}
