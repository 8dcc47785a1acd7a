// Package registrytest serves a container registry in the test process, for
// tests that need the swarm to pull from a private registry: an OCI registry
// (go-containerregistry's pkg/registry) behind basic auth, on 127.0.0.1,
// which the engine treats as an insecure registry and reaches over plain
// HTTP — or on an address the nodes of a multi-node test swarm reach and
// trust (StartOn).
package registrytest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"testing/fstest"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	ggcr "github.com/google/go-containerregistry/pkg/registry"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/secrets"
)

// Registry is a registry served for the rest of a test.
type Registry struct {
	// Host is IP:PORT, as image references name it.
	Host string
	// User and Password are the only credentials it accepts.
	User, Password string

	engine  *client.Client // pushes, and gets its images removed
	mu      gosync.Mutex
	images  []string           // IDs of the images pushed, removed at the end
	pullers []client.APIClient // other engines that pulled them
}

// Start serves a registry until the test ends, on 127.0.0.1, and pushes
// through the machine's engine. Every request needs the credentials; a
// request without them gets 401 with a Basic challenge, as the engine
// needs to send them at all. Call it before swarmtest.Stack: the images
// pushed (and pulled by services) are removed once the stack is gone.
func Start(t testing.TB) *Registry {
	t.Helper()
	return StartOn(t, "127.0.0.1", swarmtest.Client(t))
}

// StartOn is Start for engines that reach this host elsewhere than on its
// loopback: it serves on ip, an address of this host, and pushes through
// engine, which must trust ip's registries as insecure (the nodes of a
// swarmtest.Cluster, on swarmtest.RegistryIP).
func StartOn(t testing.TB, ip string, engine *client.Client) *Registry {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	r := &Registry{User: "flotilla", Password: hex.EncodeToString(b[:]), engine: engine}
	handler := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, pw, ok := req.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user+":"+pw), []byte(r.User+":"+r.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="flotilla-test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		handler.ServeHTTP(w, req)
	}))
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("serving a registry on %s: %v", ip, err)
	}
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, id := range r.images {
			removeImage(t, engine, id)
			for _, c := range r.pullers {
				removeImage(t, c, id)
			}
		}
	})
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// PulledBy names other engines that pull the registry's images (a
// cluster's workers): the copies they hold are removed when the test ends.
func (r *Registry) PulledBy(engines ...client.APIClient) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pullers = append(r.pullers, engines...)
}

// Logins are the registry's credentials as the operator's registries: give them.
func (r *Registry) Logins() cluster.Logins {
	return cluster.Logins{r.Host: {Username: r.User, Secret: func() (secrets.Value, error) {
		return secrets.NewValue([]byte(r.Password)), nil
	}}}
}

// DockerConfig writes a docker configuration directory whose config.json
// holds the registry's credentials, as `docker login` saves them, and
// returns it (for DOCKER_CONFIG).
func (r *Registry) DockerConfig(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(r.User + ":" + r.Password))
	cfg := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, r.Host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Push builds an image of its own — the test app (swarmtest.ImageV1) with
// env added, and a nonce so that no other test has it — pushes it as
// HOST/ref through its engine, removes it from the engine so that a
// service has to pull it, and returns its digest. The copies services pull
// are removed when the test ends.
func (r *Registry) Push(t testing.TB, ref string, env ...string) string {
	t.Helper()
	c := r.engine
	swarmtest.Images(t)
	tag := r.Host + "/" + ref
	var nonce [6]byte
	rand.Read(nonce[:])
	dockerfile := fmt.Sprintf("FROM %s\nENV REGISTRYTEST_NONCE=%x\n", swarmtest.ImageV1, nonce)
	for _, e := range env {
		dockerfile += "ENV " + e + "\n"
	}
	swarmtest.BuildImageOn(t, c, tag, fstest.MapFS{"Dockerfile": {Data: []byte(dockerfile), Mode: 0o644}})
	ctx := t.Context()
	inspect, err := c.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	id := inspect.ID
	r.mu.Lock()
	r.images = append(r.images, id)
	r.mu.Unlock()
	enc, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: r.User, Password: r.Password, ServerAddress: r.Host})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := c.ImagePush(ctx, tag, image.PushOptions{RegistryAuth: enc})
	if err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	digest, err := pushDigest(stream)
	stream.Close()
	if err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	if _, err := c.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
		t.Fatalf("removing %s from the engine after pushing it: %v", tag, err)
	}
	return digest
}

// pushDigest reads the engine's push progress to its end and returns the
// digest it reports; an error in the stream is an error.
func pushDigest(stream io.Reader) (string, error) {
	dec := json.NewDecoder(stream)
	digest := ""
	for {
		var msg struct {
			Error string
			Aux   struct{ Digest string }
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return "", err
		}
		if msg.Error != "" {
			return "", fmt.Errorf("%s", msg.Error)
		}
		if msg.Aux.Digest != "" {
			digest = msg.Aux.Digest
		}
	}
	if digest == "" {
		return "", fmt.Errorf("the engine reported no digest")
	}
	return digest, nil
}

// removeImage removes an image the test pushed or pulled, retrying while
// the containers of removed services still hold it.
func removeImage(t testing.TB, c client.APIClient, id string) {
	// t.Context is already cancelled during cleanup.
	err := swarmtest.Poll(context.Background(), time.Minute, func() (bool, string, error) {
		_, err := c.ImageRemove(context.Background(), id, image.RemoveOptions{Force: true, PruneChildren: true})
		switch {
		case err == nil, cerrdefs.IsNotFound(err):
			return true, "", nil
		case cerrdefs.IsConflict(err):
			return false, err.Error(), nil
		}
		return false, "", err
	})
	if err != nil {
		t.Errorf("removing image %s: %v", id, err)
	}
}
