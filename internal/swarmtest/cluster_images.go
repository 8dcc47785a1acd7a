package swarmtest

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
)

// loadImages copies the test images from the machine's engine to every
// node that lacks them (docker save | docker load, through the API): the
// nodes have no registry to pull them from.
func loadImages(ctx context.Context, from *client.Client, nodes []*Node) error {
	tags := []string{ImageV1, ImageV2, ImageV3}
	want := map[string]string{}
	for _, tag := range tags {
		inspect, err := from.ImageInspect(ctx, tag)
		if err != nil {
			return fmt.Errorf("inspecting %s: %w", tag, err)
		}
		want[tag] = inspect.ID
	}
	for _, n := range nodes {
		missing := false
		for _, tag := range tags {
			inspect, err := n.Client.ImageInspect(ctx, tag)
			if err != nil && !cerrdefs.IsNotFound(err) {
				return fmt.Errorf("inspecting %s on %s: %w", tag, n.Name, err)
			}
			missing = missing || err != nil || inspect.ID != want[tag]
		}
		if !missing {
			continue
		}
		if err := copyImages(ctx, from, n.Client, tags); err != nil {
			return fmt.Errorf("loading the test images on %s: %w", n.Name, err)
		}
	}
	return nil
}

func copyImages(ctx context.Context, from, to *client.Client, tags []string) error {
	saved, err := from.ImageSave(ctx, tags)
	if err != nil {
		return err
	}
	defer saved.Close()
	resp, err := to.ImageLoad(ctx, saved, client.ImageLoadWithQuiet(true))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// The load reports a failure in its stream.
	return readBuildOutput(resp.Body)
}
