package cluster_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/stack"
)

// fakeResolver answers from a table of digests and counts its calls.
type fakeResolver struct {
	mu      sync.Mutex
	digests map[string]string // image → digest; absent: not found
	calls   map[string]int
	auths   []cluster.RegistryAuth
}

func (f *fakeResolver) ResolveImage(_ context.Context, image string, auth cluster.RegistryAuth) (cluster.Resolved, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[image]++
	f.auths = append(f.auths, auth)
	d, ok := f.digests[image]
	if !ok {
		host, _ := cluster.RegistryHost(image)
		return cluster.Resolved{}, &cluster.ImageError{Image: image, Registry: host, Problem: cluster.ImageNotFound, Err: errors.New("manifest unknown")}
	}
	if d == "auth-error" {
		return cluster.Resolved{}, errors.New("credential helper failed")
	}
	tagged := image
	if !strings.Contains(image[strings.LastIndex(image, "/")+1:], ":") {
		tagged += ":latest"
	}
	return cluster.Resolved{Image: image, Digest: d, Pinned: tagged + "@" + d,
		Platforms: []swarm.Platform{{OS: "linux", Architecture: "amd64"}}}, nil
}

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func svc(name, image string) stack.Service {
	return stack.Service{Name: name, Spec: swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: name, Labels: map[string]string{stack.LabelImage: image}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}},
	}}
}

// liveSvc is a live service deployed from requested, running image.
func liveSvc(name, requested, image string) swarm.Service {
	s := svc(name, requested)
	s.Spec.TaskTemplate.ContainerSpec.Image = image
	if strings.Contains(image, "@") {
		s.Spec.TaskTemplate.Placement = &swarm.Placement{Platforms: []swarm.Platform{{OS: "linux", Architecture: "amd64"}}}
	}
	return swarm.Service{ID: "id-" + name, Spec: s.Spec}
}

func images(d *stack.Desired) map[string]string {
	out := map[string]string{}
	for _, s := range d.Services {
		out[s.Name] = s.Spec.TaskTemplate.ContainerSpec.Image
	}
	return out
}

func TestPinImages(t *testing.T) {
	desired := &stack.Desired{Stack: "shop", Services: []stack.Service{
		svc("shop_api", "reg.example.com/app:v1"),
		svc("shop_worker", "reg.example.com/app:v1"),
		svc("shop_web", "nginx"),
		svc("shop_fixed", "reg.example.com/app:v1@"+digestA),
		svc("shop_local", "local/app:v1"),
	}}
	live := &stack.Live{Services: []swarm.Service{
		liveSvc("shop_api", "reg.example.com/app:v1", "reg.example.com/app:v1@"+digestA),
		liveSvc("shop_web", "nginx:1", "nginx:1@"+digestA), // the stack file changed the image
		liveSvc("shop_local", "local/app:v1", "local/app:v1@"+digestA),
	}}
	requested := images(desired)
	resolver := func() *fakeResolver {
		return &fakeResolver{digests: map[string]string{"reg.example.com/app:v1": digestB, "nginx": digestB}}
	}
	tests := []struct {
		mode     cluster.ResolveImage
		want     map[string]string
		calls    map[string]int
		warnings int
	}{{
		mode: cluster.ResolveAlways,
		want: map[string]string{
			"shop_api":    "reg.example.com/app:v1@" + digestB,
			"shop_worker": "reg.example.com/app:v1@" + digestB,
			"shop_web":    "nginx:latest@" + digestB,
			"shop_fixed":  "reg.example.com/app:v1@" + digestA,
			// Not on any registry: the digest it runs is kept.
			"shop_local": "local/app:v1@" + digestA,
		},
		calls:    map[string]int{"reg.example.com/app:v1": 1, "nginx": 1, "local/app:v1": 1},
		warnings: 1,
	}, {
		mode: cluster.ResolveChanged,
		want: map[string]string{
			"shop_api":    "reg.example.com/app:v1@" + digestA, // unchanged: keeps its pin
			"shop_worker": "reg.example.com/app:v1@" + digestB, // new
			"shop_web":    "nginx:latest@" + digestB,           // changed
			"shop_fixed":  "reg.example.com/app:v1@" + digestA,
			"shop_local":  "local/app:v1@" + digestA,
		},
		calls: map[string]int{"reg.example.com/app:v1": 1, "nginx": 1},
	}, {
		mode: cluster.ResolveNever,
		want: map[string]string{
			"shop_api":    "reg.example.com/app:v1@" + digestA,
			"shop_worker": "reg.example.com/app:v1",
			"shop_web":    "nginx",
			"shop_fixed":  "reg.example.com/app:v1@" + digestA,
			"shop_local":  "local/app:v1@" + digestA,
		},
		calls: map[string]int{},
	}}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			r := resolver()
			got, err := cluster.PinImages(t.Context(), r, desired, live, tt.mode, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, images(got)); d != "" {
				t.Errorf("images (-want +got):\n%s", d)
			}
			if r.calls == nil {
				r.calls = map[string]int{}
			}
			if d := cmp.Diff(tt.calls, r.calls); d != "" {
				t.Errorf("resolves per image (-want +got):\n%s", d)
			}
			if len(got.Warnings) != tt.warnings {
				t.Errorf("warnings = %v, want %d", got.Warnings, tt.warnings)
			}
			for _, s := range got.Services {
				if want := requested[s.Name]; s.Spec.Labels[stack.LabelImage] != want {
					t.Errorf("service %s: label %s = %q, want the image as requested, %q", s.Name, stack.LabelImage, s.Spec.Labels[stack.LabelImage], want)
				}
				if img := s.Spec.TaskTemplate.ContainerSpec.Image; strings.Contains(img, "@") && s.Name != "shop_fixed" {
					if pl := s.Spec.TaskTemplate.Placement; pl == nil || len(pl.Platforms) != 1 {
						t.Errorf("service %s pinned to %s without its platforms: %+v", s.Name, img, pl)
					}
				}
			}
			if d := cmp.Diff(requested, images(desired)); d != "" {
				t.Errorf("PinImages changed its input (-want +got):\n%s", d)
			}
		})
	}
}

func TestPinImagesWarnsWhenAnImageCannotBeResolved(t *testing.T) {
	desired := &stack.Desired{Stack: "shop", Services: []stack.Service{svc("shop_api", "127.0.0.1:5000/app:v1")}}
	got, err := cluster.PinImages(t.Context(), &fakeResolver{}, desired, nil, cluster.ResolveAlways, nil)
	if err != nil {
		t.Fatal(err)
	}
	if img := images(got)["shop_api"]; img != "127.0.0.1:5000/app:v1" {
		t.Errorf("image = %s, want it unpinned", img)
	}
	if len(got.Warnings) != 1 || got.Warnings[0].Service != "shop_api" ||
		!strings.Contains(got.Warnings[0].Message, "registry 127.0.0.1:5000") ||
		!strings.Contains(got.Warnings[0].Message, "each node will resolve the tag itself") {
		t.Errorf("warnings = %+v, want one naming the registry", got.Warnings)
	}
}

func TestPinImagesFailsWhenCredentialsCannotBeRead(t *testing.T) {
	desired := &stack.Desired{Stack: "shop", Services: []stack.Service{svc("shop_api", "reg.example.com/app:v1")}}
	r := &fakeResolver{digests: map[string]string{"reg.example.com/app:v1": "auth-error"}}
	if _, err := cluster.PinImages(t.Context(), r, desired, nil, cluster.ResolveAlways, nil); err == nil || !strings.Contains(err.Error(), "shop_api") {
		t.Errorf("PinImages = %v, want an error naming the service", err)
	}
}

func TestMovedImages(t *testing.T) {
	live := &stack.Live{Services: []swarm.Service{
		liveSvc("shop_api", "reg.example.com/app:prod", "reg.example.com/app:prod@"+digestA),
		liveSvc("shop_worker", "reg.example.com/app:prod", "reg.example.com/app:prod@"+digestA),
		liveSvc("shop_web", "nginx:1", "nginx:1@"+digestA),
		liveSvc("shop_unpinned", "reg.example.com/other:v1", "reg.example.com/other:v1"),
		liveSvc("shop_fixed", "reg.example.com/app@"+digestA, "reg.example.com/app@"+digestA),
		liveSvc("shop_edited", "reg.example.com/app:prod", "someone/else:v9"), // changed by hand
		liveSvc("shop_gone", "reg.example.com/gone:v1", "reg.example.com/gone:v1@"+digestA),
	}}
	r := &fakeResolver{digests: map[string]string{
		"reg.example.com/app:prod": digestB,
		"nginx:1":                  digestA,
		"reg.example.com/other:v1": digestB,
	}}
	auth := cluster.Logins{}
	moved, err := cluster.MovedImages(t.Context(), r, nil, live, auth)
	want := []cluster.MovedImage{
		{Image: "reg.example.com/app:prod", Services: []string{"shop_api", "shop_worker"}, Old: digestA, New: digestB},
		{Image: "reg.example.com/other:v1", Services: []string{"shop_unpinned"}, Old: "", New: digestB},
	}
	if d := cmp.Diff(want, moved); d != "" {
		t.Errorf("moved (-want +got):\n%s", d)
	}
	var ie *cluster.ImageError
	if !errors.As(err, &ie) || ie.Image != "reg.example.com/gone:v1" {
		t.Errorf("err = %v, want the ImageError of reg.example.com/gone:v1", err)
	}
	if d := cmp.Diff(map[string]int{"reg.example.com/app:prod": 1, "nginx:1": 1, "reg.example.com/other:v1": 1, "reg.example.com/gone:v1": 1}, r.calls); d != "" {
		t.Errorf("resolves per image (-want +got):\n%s", d)
	}
	for _, a := range r.auths {
		if _, ok := a.(cluster.Logins); !ok {
			t.Errorf("resolver got auth %T, want the Logins passed in", a)
		}
	}

	// With the stack file: services it changed or dropped are not watched.
	desired := &stack.Desired{Services: []stack.Service{
		svc("shop_api", "reg.example.com/app:prod"),
		svc("shop_unpinned", "reg.example.com/other:v2"),
	}}
	r = &fakeResolver{digests: r.digests}
	moved, err = cluster.MovedImages(t.Context(), r, desired, live, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = []cluster.MovedImage{{Image: "reg.example.com/app:prod", Services: []string{"shop_api"}, Old: digestA, New: digestB}}
	if d := cmp.Diff(want, moved); d != "" {
		t.Errorf("moved with desired (-want +got):\n%s", d)
	}
	if len(r.calls) != 1 {
		t.Errorf("resolved %v, want only reg.example.com/app:prod", r.calls)
	}
}

// The docker client stores images short ("nginx:1" for
// "docker.io/library/nginx:1"): the live pin is still the same image.
func TestPinImagesKeepsAPinOfTheSameImageWrittenInFull(t *testing.T) {
	desired := &stack.Desired{Stack: "shop", Services: []stack.Service{svc("shop_web", "docker.io/library/nginx:1")}}
	live := &stack.Live{Services: []swarm.Service{liveSvc("shop_web", "docker.io/library/nginx:1", "nginx:1@"+digestA)}}
	got, err := cluster.PinImages(t.Context(), &fakeResolver{}, desired, live, cluster.ResolveChanged, nil)
	if err != nil {
		t.Fatal(err)
	}
	if img := images(got)["shop_web"]; img != "nginx:1@"+digestA {
		t.Errorf("image = %s, want the live pin kept", img)
	}
}
