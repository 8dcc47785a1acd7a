package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/swarm"
	"github.com/opencontainers/go-digest"
)

// ResolveImage says when a deploy asks the registry which digest an image's
// tag names, as docker's --resolve-image: always; only for services whose
// image reference changed (or that are new); or never.
type ResolveImage string

const (
	ResolveAlways  ResolveImage = "always"
	ResolveChanged ResolveImage = "changed"
	ResolveNever   ResolveImage = "never"
)

// ParseResolveImage checks a --resolve-image value.
func ParseResolveImage(s string) (ResolveImage, error) {
	switch ResolveImage(s) {
	case ResolveAlways, ResolveChanged, ResolveNever:
		return ResolveImage(s), nil
	}
	return "", fmt.Errorf("resolve-image must be always, changed or never, not %q", s)
}

// Resolved is an image reference resolved on its registry.
type Resolved struct {
	// Image is the reference asked about, e.g. "registry.example.com/app:v2".
	Image string
	// Digest is what the tag names now: "sha256:…".
	Digest string
	// Pinned is the reference the services run, as docker pins it:
	// "registry.example.com/app:v2@sha256:…".
	Pinned string
	// Platforms are those the image exists for; docker restricts the
	// service's placement to them.
	Platforms []swarm.Platform
}

// A Resolver asks a registry which digest an image reference names. *Docker
// is one: it asks through the engine, which holds the registry settings
// (insecure registries, mirrors, proxies) the nodes pull with.
type Resolver interface {
	ResolveImage(ctx context.Context, image string, auth RegistryAuth) (Resolved, error)
}

// ImageProblem says why an image could not be resolved.
type ImageProblem string

const (
	// ImageUnauthorized: the registry wants credentials, or refused them.
	ImageUnauthorized ImageProblem = "the registry wants credentials or refused them"
	// ImageNotFound: the registry has no such repository or tag.
	ImageNotFound ImageProblem = "the registry has no such image"
	// ImageUnreachable: the registry could not be asked, or answered
	// something else.
	ImageUnreachable ImageProblem = "the registry could not be asked"
	// ImageInvalid: not an image reference at all.
	ImageInvalid ImageProblem = "not a valid image reference"
)

// ImageError is an image that could not be resolved on its registry.
type ImageError struct {
	Image    string
	Registry string
	Problem  ImageProblem
	Err      error
}

func (e *ImageError) Error() string {
	if e.Registry == "" {
		return fmt.Sprintf("resolving image %q: %s: %v", e.Image, e.Problem, e.Err)
	}
	return fmt.Sprintf("resolving image %s on registry %s: %s: %v", e.Image, e.Registry, e.Problem, e.Err)
}

func (e *ImageError) Unwrap() error { return e.Err }

// ResolveImage asks the engine for the digest image's tag names now (one
// distribution inspect), with the credentials auth has for its registry.
// Failures the registry causes are *ImageError.
func (d *Docker) ResolveImage(ctx context.Context, image string, auth RegistryAuth) (Resolved, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return Resolved{}, &ImageError{Image: image, Problem: ImageInvalid, Err: err}
	}
	host := reference.Domain(named)
	enc, err := EncodedAuth(ctx, auth, image)
	if err != nil {
		return Resolved{}, fmt.Errorf("resolving image %s: %w", image, err)
	}
	inspect, err := d.api.DistributionInspect(ctx, image, string(enc.Bytes()))
	if err != nil {
		if ctx.Err() != nil {
			return Resolved{}, fmt.Errorf("resolving image %s: %w", image, ctx.Err())
		}
		problem := ImageUnreachable
		switch {
		case isRegistryUnauthorized(err):
			problem = ImageUnauthorized
		case cerrdefs.IsNotFound(err):
			problem = ImageNotFound
		}
		return Resolved{}, &ImageError{Image: image, Registry: host, Problem: problem, Err: err}
	}
	pinned, err := withDigest(image, inspect.Descriptor.Digest)
	if err != nil {
		return Resolved{}, err
	}
	r := Resolved{Image: image, Digest: inspect.Descriptor.Digest.String(), Pinned: pinned}
	for _, p := range inspect.Platforms {
		arch := p.Architecture
		// As docker: a node reports "armv7l" where the manifest says
		// "arm", so an "arm" constraint would place nothing.
		if strings.EqualFold(arch, "arm") {
			arch = ""
		}
		r.Platforms = append(r.Platforms, swarm.Platform{Architecture: arch, OS: p.OS})
	}
	return r, nil
}

// withDigest pins image to dgst the way the docker CLI does: the tag is
// kept (":latest" when none was given) and the digest appended.
func withDigest(image string, dgst digest.Digest) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	if _, canonical := named.(reference.Canonical); canonical {
		return image, nil
	}
	pinned, err := reference.WithDigest(reference.TagNameOnly(named), dgst)
	if err != nil {
		return "", fmt.Errorf("pinning image %s to %s: %w", image, dgst, err)
	}
	return reference.FamiliarString(pinned), nil
}

// hasDigest reports whether an image reference names a digest.
func hasDigest(image string) bool { return strings.Contains(image, "@") }

// digestOf is the digest an image reference pins, "" when none.
func digestOf(image string) string {
	if _, d, ok := strings.Cut(image, "@"); ok {
		return d
	}
	return ""
}

// imageErrors joins resolution errors; nil when there are none.
func imageErrors(errs []error) error { return errors.Join(errs...) }

// missingImagePrefix starts a task's error when its node could not pull the
// image. The engine says nothing more, whatever the cause (no credentials,
// wrong ones, no such tag, registry down): the cause is only in its log.
const missingImagePrefix = "No such image: "

// MissingImage recognises the error of a task whose node could not pull its
// image, and returns the image reference it names.
func MissingImage(taskErr string) (image string, ok bool) {
	image, ok = strings.CutPrefix(strings.TrimSpace(taskErr), missingImagePrefix)
	if !ok || image == "" {
		return "", false
	}
	return image, true
}
