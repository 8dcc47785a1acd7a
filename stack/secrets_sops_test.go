package stack_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// The SOPS fixtures are package secrets', written by SOPS itself.
const sopsFixtures = "../secrets/testdata/sops"

func sopsFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sopsFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sopsDecrypter(t *testing.T) *secrets.Decrypter {
	t.Helper()
	ids, err := secrets.ParseIdentities("age.key", []byte(sopsFixture(t, "age.key")))
	if err != nil {
		t.Fatal(err)
	}
	return &secrets.Decrypter{Identities: ids}
}

// A SOPS file is found by its content, whatever its name, and deployed as
// `sops -d` prints it.
func TestSOPSSecretsAreDecrypted(t *testing.T) {
	yml := "services:\n  app:\n    image: img\n    secrets: [app, db, cert]\n" +
		"secrets:\n  app:\n    file: app.yaml\n  db:\n    file: secrets/db.env\n  cert:\n    file: cert.pem\n"
	extra := map[string]string{
		"app.yaml":       sopsFixture(t, "app.sops.yaml"),
		"secrets/db.env": sopsFixture(t, "db.sops.env"),
		"cert.pem":       sopsFixture(t, "cert.sops.pem"),
	}
	d := render(t, yml, extra, stack.Options{Decrypt: sopsDecrypter(t).Decrypt})
	want := map[string]string{
		"s_app":  sopsFixture(t, "app.sops.yaml.want"),
		"s_db":   sopsFixture(t, "db.sops.env.want"),
		"s_cert": sopsFixture(t, "cert.sops.pem.want"),
	}
	if len(d.Secrets) != len(want) {
		t.Fatalf("%d secrets, want %d", len(d.Secrets), len(want))
	}
	for _, s := range d.Secrets {
		if got := string(s.Data.Bytes()); got != want[s.Name] {
			t.Errorf("%s = %q, want %q", s.Name, got, want[s.Name])
		}
		if !s.Source.Encrypted {
			t.Errorf("%s: source %+v not marked encrypted", s.Name, s.Source)
		}
	}
}

func TestSOPSFileProblems(t *testing.T) {
	svc := "services:\n  app:\n    image: img\n"
	decrypt := sopsDecrypter(t).Decrypt
	tests := []struct {
		name    string
		yml     string
		extra   map[string]string
		opts    stack.Options
		want    []string
		wantErr error
	}{
		{"as a config", svc + "configs:\n  c:\n    file: app.yaml\n", map[string]string{"app.yaml": sopsFixture(t, "app.sops.yaml")},
			stack.Options{Decrypt: decrypt}, []string{"config c", "app.yaml is SOPS-encrypted", "secrets:"}, nil},
		{"without a key", svc + "secrets:\n  s:\n    file: app.yaml\n", map[string]string{"app.yaml": sopsFixture(t, "app.sops.yaml")},
			stack.Options{}, []string{"secret s", "app.yaml is SOPS-encrypted and no decryption key"}, nil},
		{"tampered", svc + "secrets:\n  s:\n    file: sub/app.yaml\n", map[string]string{"sub/app.yaml": sopsFixture(t, "tampered.sops.yaml")},
			stack.Options{Decrypt: decrypt}, []string{"secret s: decrypting: sub/app.yaml: SOPS file failed its integrity check"}, secrets.ErrSOPSMAC},
		{"for another key", svc + "secrets:\n  s:\n    file: app.yaml\n", map[string]string{"app.yaml": sopsFixture(t, "other-key.sops.yaml")},
			stack.Options{Decrypt: decrypt}, []string{"secret s: decrypting: app.yaml: the identity given cannot decrypt it"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yml, tt.extra, tt.opts)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q shows a value", err)
			}
		})
	}
}
