package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/registry"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

func TestRegistryAuthReadsTheConfiguredFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "flotilla.yml")
	if err := os.WriteFile(cfgFile, []byte(`repos:
  shop: {url: https://git.example.com/shop.git}
registries:
  registry.example.com:5000: {username: deploy, passwordFile: pw}
environments:
  dev: {repo: shop, branch: dev, files: [s.yml], stack: dev}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := environments.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	e, err := cfg.Environment("dev")
	if err != nil {
		t.Fatal(err)
	}
	if ResolveMode(e) != cluster.ResolveAlways {
		t.Errorf("ResolveMode = %s, want the default always", ResolveMode(e))
	}
	auth := RegistryAuth(e)
	decode := func() registry.AuthConfig {
		v, err := cluster.EncodedAuth(t.Context(), auth, "registry.example.com:5000/shop/api:v1")
		if err != nil {
			t.Fatal(err)
		}
		ac, err := registry.DecodeAuthConfig(string(v.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		return *ac
	}
	want := registry.AuthConfig{Username: "deploy", Password: "first", ServerAddress: "registry.example.com:5000"}
	if d := cmp.Diff(want, decode()); d != "" {
		t.Errorf("credentials (-want +got):\n%s", d)
	}
	// A rotated password is used by the next deploy, without a reload.
	if err := os.WriteFile(pw, []byte("second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want.Password = "second"
	if d := cmp.Diff(want, decode()); d != "" {
		t.Errorf("credentials after rotation (-want +got):\n%s", d)
	}
	if v, err := cluster.EncodedAuth(t.Context(), auth, "ghcr.io/acme/app:v1"); err != nil || v.Len() != 0 {
		t.Errorf("credentials for an unconfigured registry = %v, %v; want none", v, err)
	}
}

func TestClusterOptions(t *testing.T) {
	t.Parallel()
	got, err := ClusterOptions(&environments.Cluster{Name: "edge", Host: "ssh://deploy@10.0.0.20", SSHKeyFile: "/k", KnownHostsFile: "/kh"})
	if err != nil {
		t.Fatal(err)
	}
	want := cluster.Options{Host: "ssh://deploy@10.0.0.20", SSH: cluster.SSH{KeyFile: "/k", KnownHostsFile: "/kh"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ClusterOptions (-want +got):\n%s", d)
	}
}

// The local cluster is the engine the docker CLI would use here: a context
// chosen by DOCKER_CONTEXT (or `docker context use`) counts, and one that
// does not exist is an error, not the local socket.
func TestLocalClusterFollowsTheDockerContext(t *testing.T) {
	dir := t.TempDir()
	sum := sha256.Sum256([]byte("other"))
	meta := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
	if err := os.MkdirAll(filepath.Dir(meta), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(meta, []byte(`{"Name":"other","Endpoints":{"docker":{"Host":"unix:///run/other.sock"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("DOCKER_CONTEXT", "other")
	local := &environments.Cluster{Name: environments.LocalCluster}
	got, err := ClusterOptions(local)
	if err != nil {
		t.Fatal(err)
	}
	if want := (cluster.Options{Host: "unix:///run/other.sock", Context: "other"}); got != want {
		t.Errorf("ClusterOptions(local) = %+v, want %+v", got, want)
	}
	t.Setenv("DOCKER_CONTEXT", "gone")
	if _, err := ClusterOptions(local); err == nil {
		t.Error("ClusterOptions(local) with an unknown DOCKER_CONTEXT succeeded")
	}
	_, err = New(&environments.Config{Clusters: map[string]*environments.Cluster{}}, nil).Docker(t.Context(), local)
	if err == nil || !strings.Contains(err.Error(), `cluster local: docker context "gone" does not exist`) {
		t.Errorf("Docker(local) = %v, want the context's error", err)
	}
}

// An operator cluster on ssh:// is reached through the tests' sshd, with the
// configured key and known_hosts.
func TestSSHCluster(t *testing.T) {
	t.Parallel()
	swarmtest.Client(t)
	srv := gittest.ServeSSH(t, t.TempDir())
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "flotilla.yml")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf(`repos:
  shop: {url: https://git.example.com/shop.git}
clusters:
  edge: {host: 'ssh://%s@%s', sshKeyFile: %s, knownHostsFile: %s}
environments:
  dev: {repo: shop, branch: dev, files: [s.yml], stack: dev, cluster: edge}
`, u.Username, srv.Addr, srv.KeyFile, srv.KnownHostsFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := environments.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, nil)
	defer s.Close()
	d, err := s.Docker(t.Context(), cfg.Clusters["edge"])
	if err != nil {
		t.Fatalf("connecting to cluster edge over ssh: %v", err)
	}
	if _, err := d.ReadStack(t.Context(), "ftnosuchstack"); err != nil {
		t.Errorf("reading through the ssh tunnel: %v", err)
	}
}
