package stack_test

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/flotilla-gitops/flotilla/stack"
)

// FuzzLoad feeds arbitrary YAML to Load: it may fail, never panic, and never
// return both a result and an error.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.yml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("services:\n  app:\n    image: img\n" + fixtures))
	f.Add([]byte("services: [\n"))
	f.Add([]byte("x-a: &a {image: img}\nservices:\n  app: *a\n"))

	fsys := fstest.MapFS{}
	for _, name := range []string{"files/db_password.txt", "files/api_key.txt", "files/app.conf", "files/templated.conf", "files/web.env", "pw.txt", "cfg.txt", "app.env"} {
		fsys[name] = &fstest.MapFile{Data: []byte("K=v\n")}
	}
	vars := map[string]string{"EXT_NET": "n", "EXT_SECRET": "s", "EXT_CONFIG": "c", "EXT_VOLUME": "v", "CUSTOM_NET": "cn",
		"CUSTOM_SECRET": "cs", "CUSTOM_CONFIG": "cc", "CUSTOM_VOLUME": "cv", "BACKEND_SUBNET": "10.1.0.0/24", "GREETING": "hi", "TAG": "v1"}
	f.Fuzz(func(t *testing.T, yml []byte) {
		fs := fstest.MapFS{"stack.yml": {Data: yml}}
		for k, v := range fsys {
			fs[k] = v
		}
		type result struct {
			d   *stack.Desired
			err error
		}
		done := make(chan result, 1)
		go func() {
			d, err := stack.Load(t.Context(), fs, stack.Options{Files: []string{"stack.yml"}, Stack: "fuzz", Variables: vars})
			done <- result{d, err}
		}()
		var d *stack.Desired
		var err error
		select {
		case r := <-done:
			d, err = r.d, r.err
		case <-time.After(10 * time.Second):
			t.Fatalf("Load still running after 10s on %q", yml)
		}
		if err != nil && d != nil {
			t.Fatalf("Load returned a result with error %v", err)
		}
		if err == nil && d == nil {
			t.Fatal("Load returned neither a result nor an error")
		}
	})
}
