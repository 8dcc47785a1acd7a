package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// PinImages returns desired with its services' images pinned to digests, as
// `docker stack deploy --resolve-image` pins them, so that every node runs
// the same image and the plan shows a tag that moved as an image change:
//
//   - always: each distinct image is resolved once, whatever the number of
//     services using it;
//   - changed: only images whose reference differs from the live service's
//     (com.docker.stack.image), or of new services, are resolved;
//   - never: nothing is resolved.
//
// A service that is not resolved keeps the digest its live service pins when
// the live service runs the same reference, so nothing changes; otherwise
// it is sent unpinned and each node resolves the tag itself. An image the
// registry cannot resolve is sent the same way, with a warning in the plan
// (docker warns too). Images written with a digest are left alone. Only
// failing to read credentials is an error. desired is not modified.
func PinImages(ctx context.Context, r Resolver, desired *stack.Desired, live *stack.Live, mode ResolveImage, auth RegistryAuth) (*stack.Desired, error) {
	liveByName := map[string]*swarm.Service{}
	if live != nil {
		for i := range live.Services {
			liveByName[live.Services[i].Spec.Name] = &live.Services[i]
		}
	}
	out := *desired
	out.Services = slices.Clone(desired.Services)
	out.Warnings = slices.Clone(desired.Warnings)
	resolved := map[string]Resolved{}
	failed := map[string]*ImageError{}
	for i := range out.Services {
		svc := &out.Services[i]
		cs := svc.Spec.TaskTemplate.ContainerSpec
		if cs == nil || cs.Image == "" || hasDigest(cs.Image) {
			continue
		}
		requested := requestedImage(svc.Spec)
		kept := keptPin(liveByName[svc.Name], requested)
		resolve := mode == ResolveAlways || (mode == ResolveChanged && kept == nil)
		if !resolve {
			if kept != nil {
				pin(svc, kept.image, kept.platforms)
			}
			continue
		}
		res, seen := resolved[requested]
		ierr := failed[requested]
		if !seen && ierr == nil {
			var err error
			res, err = r.ResolveImage(ctx, cs.Image, auth)
			var ie *ImageError
			switch {
			case errors.As(err, &ie):
				failed[requested], ierr = ie, ie
			case err != nil:
				return nil, fmt.Errorf("service %s: %w", svc.Name, err)
			default:
				resolved[requested] = res
			}
		}
		if ierr != nil {
			out.Warnings = append(out.Warnings, stack.Warning{Service: svc.Name, Key: "image",
				Message: unresolvedWarning(ierr, kept != nil)})
			if kept != nil {
				pin(svc, kept.image, kept.platforms)
			}
			continue
		}
		pin(svc, res.Pinned, res.Platforms)
	}
	return &out, nil
}

func unresolvedWarning(e *ImageError, kept bool) string {
	where := ""
	if e.Registry != "" {
		where = " on registry " + e.Registry
	}
	msg := fmt.Sprintf("%s could not be resolved to a digest%s (%s: %v)", e.Image, where, e.Problem, e.Err)
	if kept {
		return msg + "; the digest the service runs now is kept"
	}
	return msg + "; each node will resolve the tag itself and may run a different image"
}

// requestedImage is the image as the stack file names it: the label docker
// records it in, else the spec's image.
func requestedImage(spec swarm.ServiceSpec) string {
	if img := spec.Labels[stack.LabelImage]; img != "" {
		return img
	}
	return spec.TaskTemplate.ContainerSpec.Image
}

type livePin struct {
	image     string
	platforms []swarm.Platform
}

// keptPin is what the live service runs when it runs requested, pinned or
// not, or nil. An image changed by hand on the engine is not kept: the
// plan shows it as drift.
func keptPin(l *swarm.Service, requested string) *livePin {
	if l == nil || l.Spec.TaskTemplate.ContainerSpec == nil || l.Spec.Labels[stack.LabelImage] != requested {
		return nil
	}
	img := l.Spec.TaskTemplate.ContainerSpec.Image
	name, _, _ := strings.Cut(img, "@")
	if storedImage(name) != storedImage(requested) {
		return nil
	}
	p := &livePin{image: img}
	if pl := l.Spec.TaskTemplate.Placement; pl != nil {
		p.platforms = pl.Platforms
	}
	return p
}

// pin sets a service's image and platforms on copies of the parts of the
// spec it changes, so the desired stack it came from stays as it was.
func pin(svc *stack.Service, image string, platforms []swarm.Platform) {
	cs := *svc.Spec.TaskTemplate.ContainerSpec
	cs.Image = image
	svc.Spec.TaskTemplate.ContainerSpec = &cs
	if len(platforms) == 0 && svc.Spec.TaskTemplate.Placement == nil {
		return
	}
	var pl swarm.Placement
	if svc.Spec.TaskTemplate.Placement != nil {
		pl = *svc.Spec.TaskTemplate.Placement
	}
	pl.Platforms = slices.Clone(platforms)
	svc.Spec.TaskTemplate.Placement = &pl
}

// storedImage is an image reference as the docker client sends it: short,
// with a tag (":latest" when none).
func storedImage(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image
	}
	return reference.FamiliarString(reference.TagNameOnly(named))
}
