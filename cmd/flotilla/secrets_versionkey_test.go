package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/secrets"
)

// With the repository's version key, a secret's name depends on its
// content only: the same content deployed by a teammate with their own
// identity, and after a rekey to a new operator key, keeps its name — the
// plan is empty and nothing restarts.
func TestVersionKeyInTheRepositoryKeepsNamesForEveryone(t *testing.T) {
	t.Parallel()
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	dir := t.TempDir()
	keyFile := func(id *age.X25519Identity) string {
		path := filepath.Join(t.TempDir(), "id.key")
		if err := os.WriteFile(path, []byte(id.String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	alice, _ := age.GenerateX25519Identity()
	bob, _ := age.GenerateX25519Identity()
	operator, _ := age.GenerateX25519Identity()
	ct, err := secrets.Encrypt([]byte("s3cret-content"), []age.Recipient{alice.Recipient(), bob.Recipient()}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pw.age"), ct, 0o644); err != nil {
		t.Fatal(err)
	}
	stackFile := filepath.Join(dir, "stack.yml")
	if err := os.WriteFile(stackFile, []byte(`services:
  web: {image: flotilla-test/app:v1, secrets: [pw], deploy: {update_config: {monitor: 1s}}}
secrets:
  pw: {file: ./pw.age}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runAll(t, "secrets", "version-key", "-r", alice.Recipient().String(), "-r", bob.Recipient().String(), dir); err != nil {
		t.Fatalf("version-key: %v\n%s", err, out)
	}
	if _, err := runAll(t, "secrets", "version-key", "-r", alice.Recipient().String(), dir); err == nil {
		t.Error("version-key replaced an existing key without --force")
	}
	if out, err := runAll(t, "deploy", "-c", stackFile, "-i", keyFile(alice), "--resolve-image", "never", name); err != nil {
		t.Fatalf("alice's deploy: %v\n%s", err, out)
	}
	secretsOf := func() string {
		var names []string
		for _, o := range stackObjects(t, swarmtest.Client(t), name) {
			if strings.HasPrefix(o, "secret ") {
				names = append(names, o)
			}
		}
		return strings.Join(names, ",")
	}
	before := secretsOf()

	// Bob, with his own identity: the same names, an empty plan.
	if out, err := runAll(t, "diff", "--exit-code", "-c", stackFile, "-i", keyFile(bob), "--resolve-image", "never", name); err != nil {
		t.Errorf("bob's plan is not empty (%v):\n%s", err, out)
	}
	// Rekeyed for the operator's new key: still the same names.
	if out, err := runAll(t, "secrets", "rekey", "-i", keyFile(alice), "-r", operator.Recipient().String(), dir); err != nil {
		t.Fatalf("rekey: %v\n%s", err, out)
	}
	if out, err := runAll(t, "deploy", "-c", stackFile, "-i", keyFile(operator), "--resolve-image", "never", name); err != nil {
		t.Fatalf("the operator's deploy after the rekey: %v\n%s", err, out)
	}
	if after := secretsOf(); after != before {
		t.Errorf("secrets %s became %s: the rekey renamed them", before, after)
	}
}
