package swarmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/docker/docker/client"
)

// The test images: the same program, with VERSION baked in.
const (
	ImageV1 = "flotilla-test/app:v1"
	ImageV2 = "flotilla-test/app:v2"
	ImageV3 = "flotilla-test/app:v3"
)

var images struct {
	once sync.Once
	err  error
}

// Images makes sure the flotilla-test/app images exist, building each at most
// once per test binary and not at all when an image of the same content is
// already there.
func Images(t testing.TB) {
	t.Helper()
	c := Client(t)
	images.once.Do(func() { images.err = buildImages(t, c) })
	if images.err != nil {
		t.Fatalf("building test images: %v", images.err)
	}
}

func buildImages(t testing.TB, c *client.Client) error {
	bin, err := buildApp()
	if err != nil {
		return err
	}
	for _, tag := range []string{ImageV1, ImageV2, ImageV3} {
		version := tag[len("flotilla-test/app:"):]
		dockerfile := fmt.Sprintf("FROM scratch\nCOPY app /app\nENV VERSION=%s PORT=8080\nEXPOSE 8080\nENTRYPOINT [\"/app\"]\n", version)
		err := buildImage(t.Context(), c, tag, fstest.MapFS{
			"Dockerfile": {Data: []byte(dockerfile), Mode: 0o644},
			"app":        {Data: bin, Mode: 0o755},
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// buildApp compiles examples/app (the demo's app too) as a static binary;
// -trimpath and no VCS stamp keep the bytes, and so the content hash, stable
// between runs.
func buildApp() ([]byte, error) {
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "..", "..", "examples", "app")
	dir, err := os.MkdirTemp("", "flotilla-app-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "app")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("compiling test app: %v\n%s", err, msg)
	}
	return os.ReadFile(out)
}
