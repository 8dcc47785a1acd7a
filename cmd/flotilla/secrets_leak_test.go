package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/secrets"
)

// runAll runs the CLI in-process and returns everything it wrote and its error.
func runAll(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newRootCmd(&out, &out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

// TestPlaintextAppearsNowhere deploys a stack with an age-encrypted secret,
// with debug logging, and looks for the plaintext in everything Flotilla
// printed, in every label and spec on the engine, and in the errors of bad
// ciphertext and of an encrypted config (refused: the engine stores configs
// in clear).
func TestPlaintextAppearsNowhere(t *testing.T) {
	t.Parallel()
	c := swarmtest.Client(t)
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	dir := t.TempDir()
	plaintext := "correct-horse-battery-staple-" + name

	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := age.GenerateX25519Identity()
	ct, err := secrets.Encrypt([]byte(plaintext), []age.Recipient{id.Recipient()}, false)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(ct)
	tampered[len(tampered)-5] ^= 0x40
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("pw.age", ct)
	write("conf.age", ct)
	write("app.conf", []byte("debug = false\n"))
	write("id.key", []byte(id.String()+"\n"))
	write("wrong.key", []byte(wrong.String()+"\n"))
	write("stack.yml", []byte(`
services:
  app:
    image: flotilla-test/app:v1
    secrets: [db_pw]
    configs: [{source: app_conf, target: /etc/app.conf}]
    deploy: {update_config: {monitor: 1s}}
secrets:
  db_pw: {file: ./pw.age}
configs:
  app_conf: {file: ./app.conf}
`))
	write("age-config.yml", []byte(`
services:
  app:
    image: flotilla-test/app:v1
    configs: [app_conf]
configs:
  app_conf: {file: ./conf.age}
`))
	// Absolute paths: the loader reads from the stack file's directory.
	file, key, wrongKey := filepath.Join(dir, "stack.yml"), filepath.Join(dir, "id.key"), filepath.Join(dir, "wrong.key")

	var seen []string
	look := func(what, text string) {
		if strings.Contains(text, plaintext) {
			t.Errorf("the plaintext appears in %s:\n%s", what, text)
		}
		seen = append(seen, what)
	}

	// Bad input first: clear errors that name the secret and its file, and
	// nothing applied.
	for _, bad := range []struct{ name, stackFile, key, object, file string }{
		{"wrong identity", file, wrongKey, "db_pw", "pw.age"},
		{"tampered ciphertext", file, key, "db_pw", "pw.age"},
		{"encrypted config", filepath.Join(dir, "age-config.yml"), key, "config app_conf", "conf.age"},
	} {
		if bad.name == "tampered ciphertext" {
			write("pw.age", tampered)
		}
		out, err := runAll(t, "deploy", "--log-level", "debug", "-c", bad.stackFile, "-i", bad.key, name)
		if err == nil {
			t.Fatalf("%s: deploy succeeded", bad.name)
		}
		look(bad.name+" output", out)
		look(bad.name+" error", err.Error())
		if !strings.Contains(err.Error(), filepath.Base(bad.stackFile)) || !strings.Contains(err.Error(), bad.object) || !strings.Contains(err.Error(), bad.file) {
			t.Errorf("%s: error %q does not name the stack file, the object and its file", bad.name, err)
		}
		if objs := stackObjects(t, c, name); len(objs) != 0 {
			t.Fatalf("%s: objects were created: %v", bad.name, objs)
		}
	}
	write("pw.age", ct)

	out, err := runAll(t, "deploy", "--log-level", "debug", "--resolve-image", "never", "-c", file, "-i", key, name)
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	look("deploy output and debug log", out)
	for _, args := range [][]string{
		{"diff", "--log-level", "debug", "-c", file, "-i", key, name},
		{"diff", "--log-level", "debug", "-o", "json", "-c", file, "-i", key, name},
		{"render", "--log-level", "debug", "-c", file, "-i", key, name},
	} {
		out, err := runAll(t, args...)
		if err != nil {
			t.Fatalf("%s: %v", args[0], err)
		}
		look(strings.Join(args[:3], " "), out)
	}

	label := filters.NewArgs(filters.Arg("label", "com.docker.stack.namespace="+name))
	svcs, err := c.ServiceList(t.Context(), swarm.ServiceListOptions{Filters: label})
	if err != nil || len(svcs) != 1 {
		t.Fatalf("services: %d, %v", len(svcs), err)
	}
	secs, _ := c.SecretList(t.Context(), swarm.SecretListOptions{Filters: label})
	cfgs, _ := c.ConfigList(t.Context(), swarm.ConfigListOptions{Filters: label})
	if len(secs) != 1 || len(cfgs) != 1 {
		t.Fatalf("%d secrets and %d configs, want one each", len(secs), len(cfgs))
	}
	for what, obj := range map[string]any{"service spec": svcs[0].Spec, "secret spec": secs[0].Spec, "config spec": cfgs[0].Spec} {
		b, _ := json.Marshal(obj)
		look(what, string(b))
	}
	if len(seen) < 11 {
		t.Errorf("looked in only %d places", len(seen))
	}
}
