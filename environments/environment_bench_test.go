package environments_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/environments"
)

// BenchmarkEnvironment resolves one environment of 200 on one cluster: the
// operator does it for every pass and a webhook for every environment.
func BenchmarkEnvironment(b *testing.B) {
	var cfg strings.Builder
	cfg.WriteString("repos:\n  r: {url: \"https://git.example.com/r.git\"}\nenvironments:\n")
	for i := range 200 {
		fmt.Fprintf(&cfg, "  e%03d: {repo: r, branch: e%03d, files: [stack.yml], stack: s%03d}\n", i, i, i)
	}
	path := filepath.Join(b.TempDir(), "flotilla.yml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	c, err := environments.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		e, err := c.Environment("e100")
		if err != nil || len(e.Policy.Stacks) != 199 {
			b.Fatalf("%v, %d other stacks", err, len(e.Policy.Stacks))
		}
	}
}
