package stack_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// TestLoadRejects checks that bad input is a clear error and that nothing
// partial comes back.
func TestLoadRejects(t *testing.T) {
	const svc = "services:\n  app:\n    image: img\n"
	tests := []struct {
		name  string
		yml   string
		extra map[string]string
		opts  stack.Options
		want  []string // substrings of the error
	}{
		{name: "malformed YAML names file and line", yml: "services:\n  app:\n    image: [\n", want: []string{"stack.yml", "line"}},
		{name: "several YAML documents", yml: svc + "---\n" + svc, want: []string{"stack.yml", "one YAML document"}},
		{name: "empty file", yml: "", want: []string{"stack.yml", "empty"}},
		{name: "key outside docker's schema", yml: svc + "    pull_policy: always\n", want: []string{"stack.yml:4", "services.app", "pull_policy"}},
		{name: "nested key outside docker's schema", yml: svc + "    deploy:\n      scale: 2\n", want: []string{"stack.yml:5", "scale"}},
		{name: "top-level key outside docker's schema", yml: svc + "name: other\n", want: []string{"name"}},
		{name: "duplicate list items", yml: svc + "    cap_add: [A, A]\n", want: []string{"listed twice"}},
		{name: "compose version 2", yml: "version: \"2.4\"\n" + svc, want: []string{"version", "2.4"}},
		{name: "unset variable names it and where", yml: "services:\n  app:\n    image: img:${TAG}\n", want: []string{"TAG", "services.app.image"}},
		{name: "invalid stack name", yml: svc, opts: stack.Options{Stack: "Bad Name"}, want: []string{"invalid stack name"}},
		{name: "secret file with ..", yml: svc + "secrets:\n  s:\n    file: ../etc/passwd\n", want: []string{"secret s", "leaves"}},
		{name: "secret file absolute", yml: svc + "secrets:\n  s:\n    file: /etc/passwd\n", want: []string{"secret s", "absolute"}},
		{name: "env_file with ..", yml: svc + "    env_file: ../x.env\n", want: []string{"env_file", "leaves"}},
		{name: "missing secret file", yml: svc + "secrets:\n  s:\n    file: nope.txt\n", want: []string{"secret s", "nope.txt"}},
		{name: "relative bind mount", yml: svc + "    volumes: [\"./data:/data\"]\n", want: []string{"service app", "absolute"}},
		{name: "global with replicas", yml: svc + "    deploy: {mode: global, replicas: 2}\n", want: []string{"service app", "replicas"}},
		{name: "no image", yml: "services:\n  app:\n    build: .\n", want: []string{"service app", "no image"}},
		{name: "published port range reversed", yml: svc + "    ports: [{target: 80, published: \"8001-8000\"}]\n", want: []string{"service app", "8001-8000"}},
		{name: "start_interval at API 1.41", yml: svc + "    healthcheck: {test: [CMD, x], start_interval: 1s}\n", want: []string{"service app", "healthcheck.start_interval", "1.44"}},
		{name: "oom_score_adj at API 1.41", yml: svc + "    oom_score_adj: 5\n", want: []string{"service app", "oom_score_adj", "1.46"}},
		{name: "volume subpath at API 1.41", yml: svc + "    volumes:\n      - type: volume\n        source: v\n        target: /v\n        volume: {subpath: x}\nvolumes:\n  v:\n", want: []string{"service app", "subpath", "1.45"}},
		{name: "pids at API 1.40", yml: svc + "    deploy: {resources: {limits: {pids: 5}}}\n", opts: stack.Options{APIVersion: "1.40"}, want: []string{"pids", "1.41"}},
		{name: "age file without a key", yml: svc + "secrets:\n  s:\n    file: s.age\n", extra: map[string]string{"s.age": "x"}, want: []string{"secret s", "age-encrypted"}},
		{name: "secret driver and file", yml: svc + "secrets:\n  s:\n    file: s.txt\n    driver: vault\n", extra: map[string]string{"s.txt": "x"}, want: []string{"conflict"}},
		{name: "undefined volume", yml: svc + "    volumes: [\"data:/data\"]\n", want: []string{"service app", "data"}},
		{name: "undefined secret", yml: svc + "    secrets: [nope]\n", want: []string{"service app", "nope"}},
		{name: "undefined network", yml: svc + "    networks: [nowhere]\n", want: []string{"nowhere"}},
		{name: "duplicate secret target", yml: svc + "    secrets: [s, {source: s, target: s}]\nsecrets:\n  s:\n    file: s.txt\n", extra: map[string]string{"s.txt": "x"}, want: []string{"duplicate secret target"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := load(t, tt.yml, tt.extra, tt.opts)
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			if d != nil {
				t.Errorf("Load returned a partial result with its error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestFlowStyleStackFile: dropping the `version:` line must not drop the
// rest of a one-line file.
func TestFlowStyleStackFile(t *testing.T) {
	d := render(t, `{version: "3.8", services: {app: {image: img}}}`, nil, stack.Options{})
	if len(d.Services) != 1 || d.Services[0].Name != "s_app" {
		t.Errorf("services = %+v, want s_app", d.Services)
	}
}

func TestNewerKeysAcceptedByNewerEngine(t *testing.T) {
	d := render(t, "services:\n  app:\n    image: img\n    oom_score_adj: 5\n    healthcheck: {test: [CMD, x], start_interval: 1s}\n",
		nil, stack.Options{APIVersion: "1.46"})
	c := d.Services[0].Spec.TaskTemplate.ContainerSpec
	if c.OomScoreAdj != 5 || c.Healthcheck.StartInterval == 0 {
		t.Errorf("oom_score_adj %d, start_interval %v: want both kept at API 1.46", c.OomScoreAdj, c.Healthcheck.StartInterval)
	}
}

// TestSymlinkLeavingTheDirectory uses a real directory: os.DirFS follows
// symlinks wherever they point, so Load must check them itself.
func TestSymlinkLeavingTheDirectory(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("inside.txt", "inside")
	write("stack.yml", "services:\n  app:\n    image: img\n    secrets: [s]\nsecrets:\n  s:\n    file: ./link/secret.txt\n")
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	_, err := stack.Load(t.Context(), os.DirFS(dir), stack.Options{Files: []string{"stack.yml"}, Stack: "s"})
	if err == nil || !strings.Contains(err.Error(), "outside the stack's directory") {
		t.Fatalf("Load through a symlink leaving the directory: got %v, want an error", err)
	}

	// A link that stays inside is fine.
	if err := os.Symlink("inside.txt", filepath.Join(dir, "alias.txt")); err != nil {
		t.Fatal(err)
	}
	write("stack.yml", "services:\n  app:\n    image: img\n    secrets: [s]\nsecrets:\n  s:\n    file: alias.txt\n")
	d, err := stack.Load(t.Context(), os.DirFS(dir), stack.Options{Files: []string{"stack.yml"}, Stack: "s"})
	if err != nil {
		t.Fatalf("Load through a symlink inside the directory: %v", err)
	}
	if got := string(d.Secrets[0].Data.Bytes()); got != "inside" {
		t.Errorf("secret data %q, want %q", got, "inside")
	}
}

func TestAgeSecretsAreDecrypted(t *testing.T) {
	var gotPath, gotCipher string
	decrypt := func(path string, ciphertext []byte) (secrets.Value, error) {
		gotPath, gotCipher = path, string(ciphertext)
		return secrets.NewValue([]byte("plain")), nil
	}
	yml := "services:\n  app:\n    image: img\nsecrets:\n  s:\n    file: sub/s.age\n"
	d := render(t, yml, map[string]string{"sub/s.age": "cipher"}, stack.Options{Decrypt: decrypt})
	if gotPath != "sub/s.age" || gotCipher != "cipher" {
		t.Errorf("Decrypt called with (%q, %q), want (sub/s.age, cipher)", gotPath, gotCipher)
	}
	s := d.Secrets[0]
	if string(s.Data.Bytes()) != "plain" || s.Source != (stack.Source{Kind: stack.SourceFile, Path: "sub/s.age", Encrypted: true}) {
		t.Errorf("secret = %+v, data %q", s, s.Data.Bytes())
	}

	failing := func(string, []byte) (secrets.Value, error) { return secrets.Value{}, errors.New("no identity matched") }
	if _, err := load(t, yml, map[string]string{"sub/s.age": "cipher"}, stack.Options{Decrypt: failing}); err == nil ||
		!strings.Contains(err.Error(), "no identity matched") || !strings.Contains(err.Error(), "sub/s.age") {
		t.Errorf("failing Decrypt: got %v, want its error with the path", err)
	}
}

// TestAliasBomb: nested YAML aliases must not make loading exponential.
func TestAliasBomb(t *testing.T) {
	yml := "x-a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		_ = i
		yml += "x-" + name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	yml += "services:\n  app:\n    image: img\n    command: *" + prev + "\n"
	done := make(chan error, 1)
	go func() {
		_, err := load(t, yml, nil, stack.Options{})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Load of a 10^9-element command succeeded, want an error")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Load of an alias bomb still running after 20s")
	}
}
