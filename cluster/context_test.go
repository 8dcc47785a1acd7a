package cluster_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// writeContext creates a docker context in dir as `docker context create`
// does; tls lists the TLS files to write (ca.pem, cert.pem, key.pem).
func writeContext(t *testing.T, dir, name, host string, skipVerify bool, tls ...string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	writeFile(t, filepath.Join(dir, "contexts", "meta", id, "meta.json"),
		fmt.Sprintf(`{"Name":%q,"Metadata":{},"Endpoints":{"docker":{"Host":%q,"SkipTLSVerify":%t}}}`, name, host, skipVerify), 0o644)
	for _, f := range tls {
		writeFile(t, filepath.Join(dir, "contexts", "tls", id, "docker", f), "pem", 0o600)
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEndpointPicksTheContextAsDockerDoes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), `{"currentContext": "current"}`, 0o600)
	writeContext(t, dir, "current", "tcp://10.0.0.1:2375", false)
	writeContext(t, dir, "prod", "tcp://10.0.0.2:2376", false, "ca.pem", "cert.pem", "key.pem")
	writeContext(t, dir, "lab", "tcp://10.0.0.3:2376", true)
	writeContext(t, dir, "remote", "ssh://deploy@10.0.0.4", false)
	sum := sha256.Sum256([]byte("prod"))
	tlsDir := filepath.Join(dir, "contexts", "tls", hex.EncodeToString(sum[:]), "docker")
	tests := []struct {
		name          string
		context, host string
		env           map[string]string
		want          cluster.Options
	}{
		{name: "current context", want: cluster.Options{Host: "tcp://10.0.0.1:2375", Context: "current"}},
		{name: "DOCKER_CONTEXT beats the current one", env: map[string]string{"DOCKER_CONTEXT": "remote"},
			want: cluster.Options{Host: "ssh://deploy@10.0.0.4", Context: "remote"}},
		{name: "--context beats DOCKER_CONTEXT", context: "prod", env: map[string]string{"DOCKER_CONTEXT": "remote"},
			want: cluster.Options{Host: "tcp://10.0.0.2:2376", Context: "prod", TLS: &cluster.TLS{
				CA: filepath.Join(tlsDir, "ca.pem"), Cert: filepath.Join(tlsDir, "cert.pem"), Key: filepath.Join(tlsDir, "key.pem")}}},
		{name: "skip-tls-verify", context: "lab", want: cluster.Options{Host: "tcp://10.0.0.3:2376", Context: "lab", TLS: &cluster.TLS{SkipVerify: true}}},
		{name: "-H is the default context", host: "unix:///run/other.sock", env: map[string]string{"DOCKER_CONTEXT": "remote"},
			want: cluster.Options{Host: "unix:///run/other.sock"}},
		{name: "DOCKER_HOST is the default context", env: map[string]string{"DOCKER_HOST": "tcp://1.2.3.4:2375", "DOCKER_CONTEXT": "remote"},
			want: cluster.Options{}},
		{name: "--context default", context: "default", want: cluster.Options{}},
	}
	for _, tt := range tests {
		e := map[string]string{"DOCKER_CONFIG": dir}
		for k, v := range tt.env {
			e[k] = v
		}
		got, err := cluster.Endpoint(tt.context, tt.host, env(e))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}

	// No configuration at all: the default context.
	got, err := cluster.Endpoint("", "", env(map[string]string{"DOCKER_CONFIG": t.TempDir()}))
	if err != nil || got != (cluster.Options{}) {
		t.Errorf("without a configuration: %+v, %v; want the default context", got, err)
	}
}

func TestEndpointErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), `{"currentContext": "gone"}`, 0o600)
	writeContext(t, dir, "empty", "", false)
	tests := []struct {
		context, host string
		env           map[string]string
		want          []string
	}{
		{context: "prod", host: "tcp://x:1", want: []string{"--host or --context"}},
		{want: []string{`docker context "gone" does not exist`, "meta.json"}},
		{env: map[string]string{"DOCKER_CONTEXT": "typo"}, want: []string{`docker context "typo" does not exist`}},
		{context: "empty", want: []string{`docker context "empty" names no docker host`}},
	}
	for _, tt := range tests {
		e := map[string]string{"DOCKER_CONFIG": dir}
		for k, v := range tt.env {
			e[k] = v
		}
		_, err := cluster.Endpoint(tt.context, tt.host, env(e))
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Endpoint(%q, %q, %v) = %v, want an error with %q", tt.context, tt.host, tt.env, err, w)
			}
		}
	}
}

func TestConnectThroughAContext(t *testing.T) {
	t.Parallel()
	swarmtest.Client(t)
	dir := t.TempDir()
	writeContext(t, dir, "other", "unix:///var/run/docker.sock", false)
	writeContext(t, dir, "nowhere", "unix://"+filepath.Join(dir, "no.sock"), false)

	o, err := cluster.Endpoint("other", "", env(map[string]string{"DOCKER_CONFIG": dir}))
	if err != nil {
		t.Fatal(err)
	}
	d, err := cluster.Connect(t.Context(), o)
	if err != nil {
		t.Fatalf("connecting through context other: %v", err)
	}
	defer d.Close()
	if _, err := d.ServerVersion(t.Context()); err != nil {
		t.Fatal(err)
	}

	o, err = cluster.Endpoint("", "", env(map[string]string{"DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "nowhere"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cluster.Connect(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), `docker context "nowhere"`) || !strings.Contains(err.Error(), "no.sock") {
		t.Errorf("connecting through context nowhere = %v, want an error naming the context and its host", err)
	}

	writeContext(t, dir, "badtls", "tcp://127.0.0.1:1", false, "ca.pem")
	o, err = cluster.Endpoint("badtls", "", env(map[string]string{"DOCKER_CONFIG": dir}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cluster.Connect(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), `docker context "badtls": TLS`) {
		t.Errorf("connecting through context badtls = %v, want a TLS error naming the context", err)
	}
}

func TestConnectThroughSSH(t *testing.T) {
	t.Parallel()
	swarmtest.Client(t)
	srv := gittest.ServeSSH(t, t.TempDir())
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	host := fmt.Sprintf("ssh://%s@%s", u.Username, srv.Addr)
	d, err := cluster.Connect(t.Context(), cluster.Options{Host: host, SSH: cluster.SSH{KeyFile: srv.KeyFile, KnownHostsFile: srv.KnownHostsFile}})
	if err != nil {
		t.Fatalf("connecting to %s: %v", host, err)
	}
	defer d.Close()
	name := swarmtest.Stack(t)
	if _, err := d.CreateSecret(t.Context(), swarm.SecretSpec{Annotations: swarm.Annotations{Name: name + "_s"}, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	// What was written through the tunnel is on the engine.
	ids, err := cluster.NewFromClient(swarmtest.Client(t)).SecretIDs(t.Context(), []string{name + "_s"})
	if err != nil || ids[name+"_s"] == "" {
		t.Errorf("secret created over ssh not found on the engine: %v, %v", ids, err)
	}

	// A host key other than the pinned one: refused, with ssh's reason.
	_, err = cluster.Connect(t.Context(), cluster.Options{Host: host, SSH: cluster.SSH{KeyFile: srv.KeyFile, KnownHostsFile: srv.WrongKnownHosts(t)}})
	if err == nil || !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "Host key verification failed") {
		t.Errorf("connecting with the wrong host key = %v, want an error naming the host", err)
	}
}
