package operator_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// buildFlotilla compiles the operator, static like the Dockerfile's build
// stage makes it, and returns its path: the test deploys with it too.
func buildFlotilla(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "flotilla")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-ldflags=-s -w -X main.version=operator-test",
		"-o", out, "./cmd/flotilla")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compiling flotilla: %v\n%s", err, msg)
	}
	return out
}

// finalStage is the Dockerfile's last stage with its file system taken from
// the build context's rootfs/ instead of the build stage, which needs the
// golang image from a registry this machine doesn't have.
func finalStage(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.LastIndex(text, "\nFROM ")
	if i < 0 {
		t.Fatal("Dockerfile: no FROM line")
	}
	stage := text[i+1:]
	const fromBuild = "COPY --from=build /out/ /\n"
	if n := strings.Count(stage, fromBuild); n != 1 {
		t.Fatalf("Dockerfile's last stage has %d lines %q, want 1:\n%s", n, strings.TrimSpace(fromBuild), stage)
	}
	if !strings.HasPrefix(stage, "FROM scratch\n") {
		t.Fatalf("Dockerfile's last stage is not FROM scratch:\n%s", stage)
	}
	return strings.Replace(stage, fromBuild, "COPY rootfs/ /\n", 1)
}

// operatorImage builds the image the Dockerfile's final stage makes, from
// the binary given, and removes it when the test ends (after the stacks
// using it, whose cleanups are registered later and so run first).
func operatorImage(t *testing.T, binPath string) string {
	t.Helper()
	bin, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	rootfs := fstest.MapFS{
		"Dockerfile":      {Data: []byte(finalStage(t)), Mode: 0o644},
		"rootfs/flotilla": {Data: bin, Mode: 0o755},
		"rootfs/tmp":      {Mode: fs.ModeDir | fs.ModeSticky | 0o777},
	}
	// The same bundle the build stage copies from the golang image, when
	// this machine has one.
	if ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		rootfs["rootfs/etc/ssl/certs/ca-certificates.crt"] = &fstest.MapFile{Data: ca, Mode: 0o644}
	}
	sum := sha256.Sum256(bin)
	tag := "flotilla-operator-test:" + hex.EncodeToString(sum[:6])
	api := swarmtest.Client(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := api.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true}); err != nil {
			t.Errorf("removing the test image %s: %v", tag, err)
		}
	})
	swarmtest.BuildImage(t, tag, rootfs)
	return tag
}
