package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/flotilla-gitops/flotilla/stack"
)

// MovedImage is an image whose tag names another digest on its registry than
// the one the live services pin: someone pushed a new image under it.
type MovedImage struct {
	// Image is the reference as the stack file names it, e.g. "app:prod".
	Image string
	// Services are the live services running it, sorted.
	Services []string
	// Old is the digest the services pin ("" when one runs the tag
	// unpinned); New the one the tag names now.
	Old, New string
}

// MovedImages re-resolves the tags a stack's live services run and reports
// those that moved, one resolve per distinct image and no write. With
// desired, only services the stack file still has with the same image
// reference count (any other difference is a change in Git, which a deploy
// handles anyway); with desired nil, every live service does. Images
// written with a digest cannot move and are skipped. Images that could not
// be resolved are reported in the error, joined *ImageError values, next to
// those that moved.
func MovedImages(ctx context.Context, r Resolver, desired *stack.Desired, live *stack.Live, auth RegistryAuth) ([]MovedImage, error) {
	var want map[string]string // service → requested image
	if desired != nil {
		want = map[string]string{}
		for _, s := range desired.Services {
			if s.Spec.TaskTemplate.ContainerSpec != nil {
				want[s.Name] = requestedImage(s.Spec)
			}
		}
	}
	type use struct {
		service, digest string
	}
	uses := map[string][]use{} // requested image → its live services
	var order []string
	for _, l := range live.Services {
		if l.Spec.TaskTemplate.ContainerSpec == nil {
			continue
		}
		requested := requestedImage(l.Spec)
		if want != nil && want[l.Spec.Name] != requested {
			continue
		}
		if requested == "" || hasDigest(requested) || keptPin(&l, requested) == nil {
			continue
		}
		if _, seen := uses[requested]; !seen {
			order = append(order, requested)
		}
		uses[requested] = append(uses[requested], use{l.Spec.Name, digestOf(l.Spec.TaskTemplate.ContainerSpec.Image)})
	}
	sort.Strings(order)
	var moved []MovedImage
	var errs []error
	for _, img := range order {
		res, err := r.ResolveImage(ctx, img, auth)
		var ie *ImageError
		switch {
		case errors.As(err, &ie):
			errs = append(errs, ie)
			continue
		case err != nil:
			return moved, fmt.Errorf("checking image %s for a moved tag: %w", img, err)
		}
		m := MovedImage{Image: img, New: res.Digest}
		for _, u := range uses[img] {
			if u.digest != res.Digest {
				if len(m.Services) == 0 {
					m.Old = u.digest
				}
				m.Services = append(m.Services, u.service)
			}
		}
		if len(m.Services) > 0 {
			sort.Strings(m.Services)
			moved = append(moved, m)
		}
	}
	return moved, imageErrors(errs)
}
