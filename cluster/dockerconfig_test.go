package cluster_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/registry"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/secrets"
)

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// decodeAuth opens an X-Registry-Auth value as the engine does.
func decodeAuth(t *testing.T, v secrets.Value) registry.AuthConfig {
	t.Helper()
	if v.Len() == 0 {
		return registry.AuthConfig{}
	}
	ac, err := registry.DecodeAuthConfig(string(v.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return *ac
}

// credentialHelper writes docker-credential-NAME into dir: it answers for
// the servers in creds and logs each request to dir/NAME.log.
func credentialHelper(t *testing.T, dir, name string, creds map[string][2]string) {
	t.Helper()
	var cases strings.Builder
	for server, c := range creds {
		answer, _ := json.Marshal(map[string]string{"ServerURL": server, "Username": c[0], "Secret": c[1]})
		fmt.Fprintf(&cases, "  %q) echo '%s' ;;\n", server, answer)
	}
	script := fmt.Sprintf(`#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
echo "$server" >> %q
case "$server" in
%s  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`, filepath.Join(dir, name+".log"), cases.String())
	writeFile(t, filepath.Join(dir, "docker-credential-"+name), script, 0o755)
}

func TestDockerConfigCredentials(t *testing.T) {
	bin := t.TempDir()
	credentialHelper(t, bin, "store", map[string][2]string{
		"https://index.docker.io/v1/": {"hubuser", "hubpass"},
		"ghcr.io":                     {"<token>", "refresh-token"},
	})
	credentialHelper(t, bin, "special", map[string][2]string{"reg.example.com": {"special", "s3cret"}})
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	dir := t.TempDir()
	basic := base64.StdEncoding.EncodeToString([]byte("fileuser:filepass"))
	writeFile(t, filepath.Join(dir, "config.json"), fmt.Sprintf(`{
	"auths": {
		"https://legacy.example.com/v1/": {"auth": %q},
		"127.0.0.1:5000": {"auth": %q}
	},
	"credHelpers": {"reg.example.com": "special"},
	"currentContext": "prod"
}`, basic, basic), 0o600)
	withStore := t.TempDir()
	writeFile(t, filepath.Join(withStore, "config.json"), `{"credsStore": "store", "credHelpers": {"reg.example.com": "special"}}`, 0o600)

	fileCfg, err := cluster.LoadDockerConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fileCfg.CurrentContext() != "prod" {
		t.Errorf("CurrentContext = %q, want prod", fileCfg.CurrentContext())
	}
	storeCfg, err := cluster.LoadDockerConfig(withStore)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cfg   *cluster.DockerConfig
		image string
		want  registry.AuthConfig
	}{
		{fileCfg, "127.0.0.1:5000/app:v1", registry.AuthConfig{Username: "fileuser", Password: "filepass", ServerAddress: "127.0.0.1:5000"}},
		{fileCfg, "legacy.example.com/team/app", registry.AuthConfig{Username: "fileuser", Password: "filepass", ServerAddress: "legacy.example.com"}},
		{fileCfg, "reg.example.com/app:v1", registry.AuthConfig{Username: "special", Password: "s3cret", ServerAddress: "reg.example.com"}},
		{fileCfg, "nginx:1", registry.AuthConfig{}},
		{storeCfg, "nginx:1", registry.AuthConfig{Username: "hubuser", Password: "hubpass", ServerAddress: "https://index.docker.io/v1/"}},
		{storeCfg, "docker.io/library/nginx", registry.AuthConfig{Username: "hubuser", Password: "hubpass", ServerAddress: "https://index.docker.io/v1/"}},
		{storeCfg, "ghcr.io/me/app:v1", registry.AuthConfig{IdentityToken: "refresh-token", ServerAddress: "ghcr.io"}},
		{storeCfg, "reg.example.com/app:v1", registry.AuthConfig{Username: "special", Password: "s3cret", ServerAddress: "reg.example.com"}},
		{storeCfg, "quay.io/x/y", registry.AuthConfig{}},
	}
	for _, tt := range tests {
		v, err := cluster.EncodedAuth(t.Context(), tt.cfg, tt.image)
		if err != nil {
			t.Errorf("EncodedAuth(%s): %v", tt.image, err)
			continue
		}
		if d := cmp.Diff(tt.want, decodeAuth(t, v)); d != "" {
			t.Errorf("EncodedAuth(%s) in %s (-want +got):\n%s", tt.image, tt.cfg.Dir, d)
		}
		if fmt.Sprint(v) != secrets.Redacted {
			t.Errorf("EncodedAuth(%s) prints as %v", tt.image, v)
		}
	}
	// A helper runs once per registry, however many services use it.
	for range 3 {
		if _, err := cluster.EncodedAuth(t.Context(), storeCfg, "nginx:2"); err != nil {
			t.Fatal(err)
		}
	}
	log, err := os.ReadFile(filepath.Join(bin, "store.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "https://index.docker.io/v1/"); n != 1 {
		t.Errorf("the store helper was asked for Docker Hub %d times, want 1:\n%s", n, log)
	}
}

func TestDockerConfigErrors(t *testing.T) {
	missing, err := cluster.LoadDockerConfig(filepath.Join(t.TempDir(), "nothing"))
	if err != nil {
		t.Fatalf("a missing config.json: %v, want an empty configuration", err)
	}
	if v, err := cluster.EncodedAuth(t.Context(), missing, "nginx"); err != nil || v.Len() != 0 {
		t.Errorf("EncodedAuth from no configuration = %v, %v; want none", v, err)
	}

	bad := t.TempDir()
	writeFile(t, filepath.Join(bad, "config.json"), "{", 0o600)
	if _, err := cluster.LoadDockerConfig(bad); err == nil || !strings.Contains(err.Error(), filepath.Join(bad, "config.json")) {
		t.Errorf("LoadDockerConfig of bad JSON = %v, want an error naming the file", err)
	}

	noHelper := t.TempDir()
	writeFile(t, filepath.Join(noHelper, "config.json"), `{"credsStore": "flotilla-test-nonexistent"}`, 0o600)
	cfg, err := cluster.LoadDockerConfig(noHelper)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cluster.EncodedAuth(t.Context(), cfg, "reg.example.com/app")
	if err == nil || !strings.Contains(err.Error(), "docker-credential-flotilla-test-nonexistent") || !strings.Contains(err.Error(), "reg.example.com") {
		t.Errorf("EncodedAuth with a missing helper = %v, want an error naming the helper and the registry", err)
	}
}

func TestLogins(t *testing.T) {
	reads := 0
	logins := cluster.Logins{
		"Registry.Example.com:5000": {Username: "deploy", Secret: func() (secrets.Value, error) {
			reads++
			return secrets.NewValue([]byte("pw")), nil
		}},
		"https://index.docker.io/v1/": {Username: "hub", Secret: func() (secrets.Value, error) { return secrets.NewValue([]byte("tok")), nil }},
	}
	tests := map[string]registry.AuthConfig{
		"registry.example.com:5000/app:v1": {Username: "deploy", Password: "pw", ServerAddress: "registry.example.com:5000"},
		"nginx":                            {Username: "hub", Password: "tok", ServerAddress: "https://index.docker.io/v1/"},
		"registry.example.com/app:v1":      {},
	}
	for image, want := range tests {
		v, err := cluster.EncodedAuth(t.Context(), logins, image)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, decodeAuth(t, v)); d != "" {
			t.Errorf("EncodedAuth(%s) (-want +got):\n%s", image, d)
		}
	}
	if _, err := cluster.EncodedAuth(t.Context(), logins, "registry.example.com:5000/app:v2"); err != nil {
		t.Fatal(err)
	}
	if reads != 2 {
		t.Errorf("the password was read %d times for 2 uses, want each use to read it (rotation)", reads)
	}
}
