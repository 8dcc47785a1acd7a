package stack_test

import (
	"testing"
	"testing/fstest"

	"github.com/flotilla-gitops/flotilla/stack"
)

// render loads one stack file named stack.yml, plus extra files, as stack "s".
func render(t *testing.T, yml string, extra map[string]string, opts stack.Options) *stack.Desired {
	t.Helper()
	d, err := load(t, yml, extra, opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return d
}

func load(t *testing.T, yml string, extra map[string]string, opts stack.Options) (*stack.Desired, error) {
	t.Helper()
	fsys := fstest.MapFS{"stack.yml": {Data: []byte(yml)}}
	for name, content := range extra {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	if opts.Stack == "" {
		opts.Stack = "s"
	}
	if opts.Files == nil {
		opts.Files = []string{"stack.yml"}
	}
	return stack.Load(t.Context(), fsys, opts)
}

func ptr[T any](v T) *T { return &v }
