package cluster_test

import (
	"errors"
	"testing"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/registrytest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/secrets"
)

func TestResolveImageThroughTheEngine(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	digest := reg.Push(t, "app:v1")
	d := cluster.NewFromClient(swarmtest.Client(t))
	ref := reg.Host + "/app:v1"

	got, err := d.ResolveImage(t.Context(), ref, reg.Logins())
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != digest || got.Pinned != ref+"@"+digest || len(got.Platforms) != 1 || got.Platforms[0].OS != "linux" {
		t.Errorf("ResolveImage(%s) = %+v, want digest %s and the linux platform", ref, got, digest)
	}

	wrong := cluster.Logins{reg.Host: {Username: reg.User, Secret: func() (secrets.Value, error) { return secrets.NewValue([]byte("wrong")), nil }}}
	for _, tt := range []struct {
		name  string
		ref   string
		auth  cluster.RegistryAuth
		want  cluster.ImageProblem
		image string
	}{
		{"no credentials", ref, nil, cluster.ImageUnauthorized, ref},
		{"wrong password", ref, wrong, cluster.ImageUnauthorized, ref},
		{"unknown tag", reg.Host + "/app:nope", reg.Logins(), cluster.ImageNotFound, reg.Host + "/app:nope"},
		{"no registry there", "127.0.0.1:1/app:v1", nil, cluster.ImageUnreachable, "127.0.0.1:1/app:v1"},
		{"not a reference", "Not/Valid:Ref", nil, cluster.ImageInvalid, "Not/Valid:Ref"},
	} {
		_, err := d.ResolveImage(t.Context(), tt.ref, tt.auth)
		var ie *cluster.ImageError
		if !errors.As(err, &ie) || ie.Problem != tt.want || ie.Image != tt.image {
			t.Errorf("%s: ResolveImage = %v, want an ImageError %q for %s", tt.name, err, tt.want, tt.image)
		}
	}
}
