package secrets

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

// newX25519 returns a fresh identity and its identity-file text.
func newX25519(t testing.TB) (*age.X25519Identity, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id, "# public key: " + id.Recipient().String() + "\n" + id.String() + "\n"
}

// sshKeyPEM marshals an SSH private key the way ssh-keygen writes it.
func sshKeyPEM(t testing.TB, key any, passphrase string) []byte {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(key, "test key")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "test key", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func newEd25519PEM(t testing.TB) (ssh.PublicKey, []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sshPub, sshKeyPEM(t, priv, "")
}

var rsaKeyOnce = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// testRSAKey is generated once per run: 2048-bit generation is slow.
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsaKeyOnce()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newRSAPEM(t testing.TB) (ssh.PublicKey, []byte) {
	t.Helper()
	k := testRSAKey(t)
	sshPub, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return sshPub, sshKeyPEM(t, k, "")
}

// authorizedKey is the public key line ssh-keygen puts in a .pub file.
func authorizedKey(pub ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

func writeFile(t testing.TB, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode passes through the umask; tests need the exact one.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustEncrypt(t testing.TB, plaintext []byte, armored bool, rs ...age.Recipient) []byte {
	t.Helper()
	ct, err := Encrypt(plaintext, rs, armored)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}
