package environments

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestValidateTrust: what would let others in is refused at load time, with
// its line: weak tokens, engines and credentials without TLS, bad policies.
func TestValidateTrust(t *testing.T) {
	t.Parallel()
	const env = "environments:\n  dev: {repo: shop, branch: dev, files: [s.yml], stack: dev}\n"
	tests := []struct {
		name string
		yaml string
		want []wantProblem
	}{
		{"long enough secrets", base + env + "server:\n  tokenFile: long\n  readTokenFile: long2\n  webhooks:\n    github: {secretFile: long}\n", nil},
		{"short tokens and secrets", base + env + "server:\n  tokenFile: short\n  readTokenFile: short\n  webhooks:\n    gitea: {secretFile: short}\n",
			[]wantProblem{{6, "server.tokenFile"}, {6, "holds 31 bytes: use at least 32"}, {7, "server.readTokenFile"}, {7, "readTokenFile is tokenFile"}, {9, "gitea.secretFile"}}},
		{"engine without TLS", base + "clusters:\n  a: {host: 'tcp://10.0.0.1:2375'}\n  b: {host: 'http://10.0.0.2:2375'}\n  c: {host: 'tcp://10.0.0.3:2375', insecure: true}\n  d: {host: 'ssh://deploy@10.0.0.4'}\n" + env,
			[]wantProblem{{4, `cluster "a": host tcp://10.0.0.1:2375 has no tls`}, {5, `cluster "b"`}}},
		{"credentials over http", "repos:\n  shop: {url: 'http://git.internal/shop.git', auth: {tokenFile: long}}\n  ok: {url: 'http://git.internal/ok.git', auth: {tokenFile: long}, insecure: true}\n  anon: {url: 'http://git.internal/anon.git'}\n  here: {url: 'http://127.0.0.1:3000/here.git', auth: {tokenFile: long}}\n" + env,
			[]wantProblem{{2, "credentials over plain http:// are refused"}}},
		{"server tls needs both files", base + env + "server:\n  tls: {certFile: long}\n", []wantProblem{{6, "keyFile is required"}}},
		{"bad policies", base + "defaults:\n  policy: {bindMounts: [data, /srv/../etc], capabilities: [NET ADMIN], hostNetwork: maybe}\n" +
			"environments:\n  dev:\n    repo: shop\n    branch: dev\n    files: [s.yml]\n    stack: dev\n    policy:\n      externalSecrets: [\"prod db\"]\n      mounts: [/srv]\n",
			[]wantProblem{{4, `defaults.policy.bindMounts: "data"`}, {4, `"/srv/../etc"`}, {4, `"NET ADMIN"`}, {4, "hostNetwork must be true or false"},
				{12, `environments.dev.policy.externalSecrets: "prod db"`}, {13, `unknown field "mounts"`}}},
		{"dashboard switch", base + env + "server:\n  ui: 'no'\n", []wantProblem{{6, "server.ui must be true or false"}}},
		{"sensitive patterns", base + env + "sensitivePatterns: ['*', '*PIN*']\n", []wantProblem{{5, `"*" matches every name`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range map[string]string{
				"long":  strings.Repeat("a", MinSecretLen) + "\n",
				"long2": strings.Repeat("b", MinSecretLen),
				"short": strings.Repeat("c", MinSecretLen-1) + "\n",
			} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			file := filepath.Join(dir, "flotilla.yml")
			if err := os.WriteFile(file, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(file)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load() = %v, want no error", err)
				}
				return
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Load() error = %v, want Problems", err)
			}
			for _, w := range tt.want {
				if !hasProblem(ps, w) {
					t.Errorf("no problem on line %d containing %q; got:\n%v", w.line, w.msg, err)
				}
			}
			if strings.Contains(err.Error(), "ccccc") {
				t.Errorf("a token's content is in the error: %v", err)
			}
		})
	}
}

// TestLoadOffline: where the operator's secrets are not (CI), the
// configuration still loads for its policies; Load wants the files.
func TestLoadOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "flotilla.yml")
	yml := base + "environments:\n  dev:\n    repo: shop\n    branch: dev\n    files: [s.yml]\n    stack: dev\n    identities: [/run/secrets/age]\n" +
		"    policy: {bindMounts: [/srv]}\nserver:\n  tokenFile: /run/secrets/api_token\n"
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file); err == nil {
		t.Fatal("Load succeeded without the identity and token files")
	}
	c, err := LoadOffline(file)
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.Environment("dev")
	if err != nil || len(e.Policy.BindMounts) != 1 || !slices.Contains(e.Policy.DeniedBindMounts, "/run/secrets") {
		t.Errorf("dev: %+v, %v", e, err)
	}
	if err := os.WriteFile(file, []byte(yml+"bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOffline(file); err == nil {
		t.Error("LoadOffline accepted an unknown key")
	}
}

// TestPolicyDeniesTheRegistryAndSSHKeyDirs: the directories of registry
// passwords and of an ssh:// cluster's key are the operator's secrets too,
// never a stack's bind mount.
func TestPolicyDeniesTheRegistryAndSSHKeyDirs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"registry/pw", "registry/token", "ssh/id", "ssh/known_hosts"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat("a", MinSecretLen)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	yml := base + "clusters:\n  edge: {host: 'ssh://deploy@10.0.0.4', sshKeyFile: ssh/id, knownHostsFile: ssh/known_hosts}\n" +
		"registries:\n  reg.example.com: {username: deploy, passwordFile: registry/pw}\n" +
		"environments:\n  dev: {repo: shop, branch: dev, files: [s.yml], stack: dev, cluster: edge}\n"
	file := filepath.Join(dir, "flotilla.yml")
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.Environment("dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(dir, "registry"), filepath.Join(dir, "ssh")} {
		if !slices.Contains(e.Policy.DeniedBindMounts, d) {
			t.Errorf("DeniedBindMounts = %v, want it to hold %s", e.Policy.DeniedBindMounts, d)
		}
	}
}
