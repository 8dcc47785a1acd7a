package diff_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDiffLinksNoDockerClient keeps diff pure in what it links, not only in
// what it does: it compares values and must not pull in the Engine API
// client, or anything that speaks HTTP, through the types it takes.
func TestDiffLinksNoDockerClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{"github.com/docker/docker/client", "github.com/flotilla-gitops/flotilla/cluster", "net/http"}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed no packages")
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("diff depends on %s", dep)
			}
		}
	}
}
