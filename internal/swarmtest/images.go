package swarmtest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// The test images: the same program, with VERSION baked in.
const (
	ImageV1 = "flotilla-test/app:v1"
	ImageV2 = "flotilla-test/app:v2"
	ImageV3 = "flotilla-test/app:v3"
)

// hashLabel records the content hash an image was built from, so a rerun
// (even from another test binary) rebuilds nothing.
const hashLabel = "io.flotilla.test.content-hash"

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
	ctx := t.Context()
	bin, err := buildApp()
	if err != nil {
		return err
	}
	for _, tag := range []string{ImageV1, ImageV2, ImageV3} {
		version := tag[len("flotilla-test/app:"):]
		dockerfile := fmt.Sprintf("FROM scratch\nCOPY app /app\nENV VERSION=%s PORT=8080\nEXPOSE 8080\nENTRYPOINT [\"/app\"]\n", version)
		sum := sha256.New()
		sum.Write(bin)
		sum.Write([]byte(dockerfile))
		hash := hex.EncodeToString(sum.Sum(nil))

		inspect, err := c.ImageInspect(ctx, tag)
		switch {
		case err == nil && inspect.Config != nil && inspect.Config.Labels[hashLabel] == hash:
			continue // up to date
		case err != nil && !cerrdefs.IsNotFound(err):
			return fmt.Errorf("inspecting %s: %w", tag, err)
		}
		buildCtx, err := tarContext(map[string][]byte{"Dockerfile": []byte(dockerfile), "app": bin})
		if err != nil {
			return err
		}
		resp, err := c.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
			Tags:        []string{tag},
			Labels:      map[string]string{hashLabel: hash},
			Remove:      true,
			ForceRemove: true,
		})
		if err != nil {
			return fmt.Errorf("building %s: %w", tag, err)
		}
		err = readBuildOutput(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("building %s: %w", tag, err)
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

func tarContext(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"Dockerfile", "app"} {
		data := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// readBuildOutput drains the build's JSON stream; the legacy builder reports
// failures inside the stream, not as an HTTP error.
func readBuildOutput(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading build output: %w", err)
		}
		if msg.Error != "" {
			return fmt.Errorf("%s", msg.Error)
		}
	}
}
