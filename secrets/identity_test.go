package secrets

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

func TestLoadIdentitiesX25519File(t *testing.T) {
	id1, text1 := newX25519(t)
	id2, text2 := newX25519(t)
	// Comments, blank lines, CRLF and several identities in one file.
	text := "# created by a test\r\n\r\n" + strings.ReplaceAll(text1, "\n", "\r\n") + "\n" + text2
	path := writeFile(t, "keys.txt", []byte(text), 0o600)

	ids, warnings, err := LoadIdentities(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings for a 0600 file: %q", warnings)
	}
	if len(ids) != 2 {
		t.Fatalf("got %d identities, want 2", len(ids))
	}
	for i, want := range []*age.X25519Identity{id1, id2} {
		got, ok := ids[i].(*age.X25519Identity)
		if !ok || got.String() != want.String() {
			t.Errorf("identity %d is not the one in the file", i)
		}
	}
}

func TestLoadIdentitiesSSH(t *testing.T) {
	for name, gen := range map[string]func(testing.TB) (ssh.PublicKey, []byte){
		"ed25519": newEd25519PEM,
		"rsa":     newRSAPEM,
	} {
		t.Run(name, func(t *testing.T) {
			pub, pemBytes := gen(t)
			path := writeFile(t, "id_"+name, pemBytes, 0o600)
			ids, _, err := LoadIdentities(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ParseRecipient(authorizedKey(pub))
			if err != nil {
				t.Fatal(err)
			}
			ct := mustEncrypt(t, []byte("ssh-decrypted"), false, r)
			v, err := Decrypt("db.age", ct, ids)
			if err != nil {
				t.Fatal(err)
			}
			if string(v.Bytes()) != "ssh-decrypted" {
				t.Errorf("decrypted %q", v.Bytes())
			}
		})
	}
}

func TestLoadIdentitiesWarnsWhenOthersCanRead(t *testing.T) {
	_, text := newX25519(t)
	path := writeFile(t, "keys.txt", []byte(text), 0o644)
	ids, warnings, err := LoadIdentities(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("got %d identities", len(ids))
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], path) || !strings.Contains(warnings[0], "0644") {
		t.Errorf("warnings = %q, want one naming %s and its mode", warnings, path)
	}
}

func TestLoadIdentitiesErrors(t *testing.T) {
	_, goodText := newX25519(t)
	secretLine := strings.TrimSpace(goodText[strings.Index(goodText, "AGE-SECRET-KEY"):])
	// A mangled key must not be echoed: it is most of a secret.
	mangled := secretLine[:len(secretLine)-3] + "QQQ"
	_, edPEM := newEd25519PEM(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	encrypted := sshKeyPEM(t, priv, "correct horse")

	for _, tc := range []struct {
		name, content, want string
	}{
		{"empty", "", "no identity in it"},
		{"comments only", "# nothing\n\n", "no identity in it"},
		{"mangled key", "# c\n" + mangled + "\n", "line 2 is not an age identity"},
		{"plaintext", "hunter2\n", "line 1 is not an age identity"},
		{"plugin", "AGE-PLUGIN-YUBIKEY-1QQQQQQ\n", "plugin identities are not supported"},
		{"passphrase ssh key", string(encrypted), "protected by a passphrase"},
		{"broken ssh key", strings.Replace(string(edPEM), "b3Blbn", "AAAAAA", 1), "as an SSH private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "keys.txt", []byte(tc.content), 0o600)
			_, _, err := LoadIdentities(path)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q: want it to name %s and say %q", msg, path, tc.want)
			}
			if strings.Contains(msg, secretLine[16:40]) || strings.Contains(msg, "hunter2") || strings.Contains(msg, "QQQ") {
				t.Errorf("error quotes the identity file: %q", msg)
			}
		})
	}
}

func TestLoadIdentitiesMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.txt")
	_, _, err := LoadIdentities(path)
	if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v: want not-exist naming %s", err, path)
	}
	if _, _, err := LoadIdentities(); err == nil {
		t.Error("no error without any path")
	}
}
