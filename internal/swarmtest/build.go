package swarmtest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// hashLabel records the content hash an image was built from, so a rerun
// (even from another test binary) rebuilds nothing.
const hashLabel = "io.flotilla.test.content-hash"

// BuildImage builds tag from a build context holding a Dockerfile, through
// the Engine API's legacy builder (no BuildKit, no registry: only FROM
// scratch or local images work). Modes in context are kept, so a context can
// carry a sticky /tmp. An image of the same content is not rebuilt.
func BuildImage(t testing.TB, tag string, context fs.FS) {
	t.Helper()
	BuildImageOn(t, Client(t), tag, context)
}

// BuildImageOn is BuildImage on another engine (a Cluster's node).
func BuildImageOn(t testing.TB, c *client.Client, tag string, context fs.FS) {
	t.Helper()
	if err := buildImage(t.Context(), c, tag, context); err != nil {
		t.Fatal(err)
	}
}

func buildImage(ctx context.Context, c *client.Client, tag string, context fs.FS) error {
	buildCtx, hash, err := tarContext(context)
	if err != nil {
		return fmt.Errorf("packing the build context of %s: %w", tag, err)
	}
	inspect, err := c.ImageInspect(ctx, tag)
	switch {
	case err == nil && inspect.Config != nil && inspect.Config.Labels[hashLabel] == hash:
		return nil // up to date
	case err != nil && !cerrdefs.IsNotFound(err):
		return fmt.Errorf("inspecting %s: %w", tag, err)
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
	return nil
}

// tarContext packs every file and directory of fsys, in fs.WalkDir's
// lexical order, and hashes what it packed.
func tarContext(fsys fs.FS) (io.Reader, string, error) {
	var buf bytes.Buffer
	sum := sha256.New()
	tw := tar.NewWriter(&buf)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || name == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = name
		if d.IsDir() {
			hdr.Name += "/"
		}
		// Names, modes and contents make the hash; times don't, so a rebuilt
		// binary of the same bytes is the same image.
		fmt.Fprintf(sum, "%s %o %d\n", hdr.Name, hdr.Mode, hdr.Size)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum.Write(data)
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return &buf, hex.EncodeToString(sum.Sum(nil)), tw.Close()
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
