package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/internal/gittest"
)

// validate checks the configuration, then renders every environment at its
// branch tip without touching a cluster, and reports each broken stack.
func TestValidateRendersEveryEnvironment(t *testing.T) {
	t.Parallel()
	repo := gittest.NewRepo(t)
	repo.Switch("good")
	repo.Commit(map[string]string{"stack.yml": "services:\n  web:\n    image: app:v1\n"}, "good")
	repo.Push("good")
	repo.Switch("bad")
	repo.Commit(map[string]string{"stack.yml": "services:\n  web:\n    image: app:v1\n    environment: [unclosed\n"}, "bad")
	repo.Push("bad")
	dir := t.TempDir()
	config := filepath.Join(dir, "flotilla.yml")
	os.WriteFile(config, []byte(fmt.Sprintf(`cacheDir: %s/cache
repos:
  r: {url: %q}
environments:
  good: {repo: r, branch: good, files: [stack.yml], stack: shop-good}
  bad: {repo: r, branch: bad, files: [stack.yml], stack: shop-bad}
`, dir, repo.URL())), 0o600)

	out, err := runAll(t, "validate", "--config", config)
	if err == nil || !strings.Contains(err.Error(), "1 environments do not render: bad") {
		t.Errorf("validate: %v, want it to fail naming bad", err)
	}
	for _, want := range []string{"configuration valid", "good: ", "renders: 1 services", "bad: ", "stack.yml: yaml: line 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}

	// A configuration mistake is reported with its line, and nothing renders.
	os.WriteFile(config, []byte("environments:\n  dev: {repo: nowhere, files: [stack.yml], stack: Shop}\n"), 0o600)
	_, err = runAll(t, "validate", "--config", config)
	if err == nil || !strings.Contains(err.Error(), "flotilla.yml:2:") {
		t.Errorf("validate of a broken configuration: %v, want problems with their lines", err)
	}
}
