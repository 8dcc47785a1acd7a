package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecryptSOPS feeds changed SOPS files to DecryptSOPS: it must never
// panic, only return our errors, and never show a value the file holds
// encrypted.
func FuzzDecryptSOPS(f *testing.F) {
	key, err := os.ReadFile(filepath.Join(sopsDir, "age.key"))
	if err != nil {
		f.Fatal(err)
	}
	ids, err := ParseIdentities("age.key", key)
	if err != nil {
		f.Fatal(err)
	}
	names := []string{"app.sops.yaml", "app.sops.json", "db.sops.env", "cert.sops.pem", "comments.sops.yaml", "shamir.sops.yaml"}
	for i, name := range names {
		data, err := os.ReadFile(filepath.Join(sopsDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), data)
	}
	f.Fuzz(func(t *testing.T, which uint8, file []byte) {
		name := names[int(which)%len(names)]
		v, err := DecryptSOPS(name, file, ids, SecretLimit)
		if err == nil {
			if v.Len() == 0 || v.Len() >= int(SecretLimit) {
				t.Fatalf("accepted a value of %d bytes", v.Len())
			}
			return
		}
		var fe *FileError
		var ne *NoIdentityError
		if !errors.As(err, &fe) && !errors.As(err, &ne) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		for _, p := range plaintexts {
			if strings.Contains(err.Error(), p) && !bytes.Contains(file, []byte(p)) {
				t.Fatalf("error %q shows a value", err)
			}
		}
	})
}
