package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
)

// The fixtures in testdata/sops were written by SOPS itself (testdata/sops/gen),
// with the .want files holding what `sops -d` printed for each.
const sopsDir = "testdata/sops"

func sopsIdentities(t *testing.T, files ...string) []age.Identity {
	t.Helper()
	var ids []age.Identity
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(sopsDir, f))
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ParseIdentities(f, data)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, parsed...)
	}
	return ids
}

func readSOPSFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sopsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// plaintexts are values of the fixtures, which no error may show.
var plaintexts = []string{"s3cr3t-p4ss", "db.internal", "first-key", "second-key", "anyone may", "2024-05-01", "password rotates"}

func TestDecryptSOPSPrintsWhatSOPSPrints(t *testing.T) {
	t.Parallel()
	ids := sopsIdentities(t, "age.key")
	wants, err := filepath.Glob(filepath.Join(sopsDir, "*.want"))
	if err != nil || len(wants) < 8 {
		t.Fatalf("fixtures: %v %v", wants, err)
	}
	for _, want := range wants {
		name := strings.TrimSuffix(filepath.Base(want), ".want")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := readSOPSFixture(t, name)
			if !IsSOPS(name, data) {
				t.Fatalf("IsSOPS(%s) = false", name)
			}
			v, err := DecryptSOPS(name, data, ids, SecretLimit)
			if err != nil {
				t.Fatal(err)
			}
			if w := readSOPSFixture(t, filepath.Base(want)); !bytes.Equal(v.Bytes(), w) {
				t.Errorf("decrypted:\n%s\nsops -d printed:\n%s", v.Bytes(), w)
			}
		})
	}
}

func TestDecryptSOPSRefusesTamperedFiles(t *testing.T) {
	t.Parallel()
	ids := sopsIdentities(t, "age.key")
	tests := []struct {
		file string
		want error
		// detail is what the message must add: where the problem is.
		detail string
	}{
		// A value in the clear changed, and a list item dropped: every
		// value still decrypts, and only the MAC tells.
		{"tampered.sops.yaml", ErrSOPSMAC, ""},
		{"dropped.sops.yaml", ErrSOPSMAC, ""},
		// An encrypted value changed: AES-GCM tells, and names its place.
		{"tampered-value.sops.yaml", ErrSOPSCorrupt, "value at database.host: authentication failed"},
	}
	for _, tt := range tests {
		path := filepath.Join("stack", tt.file)
		_, err := DecryptSOPS(path, readSOPSFixture(t, tt.file), ids, SecretLimit)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.file, err, tt.want)
			continue
		}
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != path || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("%s: error %q does not name the file", tt.file, err)
		}
		if !strings.Contains(err.Error(), tt.detail) {
			t.Errorf("%s: error %q does not say %q", tt.file, err, tt.detail)
		}
		for _, p := range plaintexts {
			if strings.Contains(err.Error(), p) {
				t.Errorf("%s: error %q shows a value", tt.file, err)
			}
		}
	}
}

func TestDecryptSOPSWithTheWrongKey(t *testing.T) {
	t.Parallel()
	data := readSOPSFixture(t, "other-key.sops.yaml")
	other := sopsIdentities(t, "other.key")
	otherRecipient := other[0].(*age.X25519Identity).Recipient().String()

	for _, ids := range [][]age.Identity{nil, sopsIdentities(t, "age.key")} {
		_, err := DecryptSOPS("other-key.sops.yaml", data, ids, SecretLimit)
		var noID *NoIdentityError
		if !errors.As(err, &noID) || noID.Identities != len(ids) || !slices.Equal(noID.Recipients, []string{otherRecipient}) {
			t.Fatalf("with %d identities: error %v, want a NoIdentityError naming %s", len(ids), err, otherRecipient)
		}
		if !strings.Contains(err.Error(), otherRecipient) {
			t.Errorf("error %q does not say which key would do", err)
		}
		if len(ids) == 0 && !strings.Contains(err.Error(), EnvSOPSAgeKey) {
			t.Errorf("error %q does not say where identities come from", err)
		}
	}
	// The right key opens it: the file is fine, the key was wrong.
	v, err := DecryptSOPS("other-key.sops.yaml", data, other, SecretLimit)
	if err != nil || !bytes.Equal(v.Bytes(), readSOPSFixture(t, "app.sops.yaml.want")) {
		t.Errorf("with its key: %v", err)
	}
}

func TestDecryptSOPSKeyGroups(t *testing.T) {
	t.Parallel()
	data := readSOPSFixture(t, "shamir.sops.yaml")
	// Two groups of three are needed.
	_, err := DecryptSOPS("shamir.sops.yaml", data, sopsIdentities(t, "age.key"), SecretLimit)
	var noID *NoIdentityError
	if !errors.As(err, &noID) || len(noID.Recipients) != 3 {
		t.Fatalf("with one group's key: %v, want a NoIdentityError naming the three recipients", err)
	}
	v, err := DecryptSOPS("shamir.sops.yaml", data, sopsIdentities(t, "other.key", "age.key"), SecretLimit)
	if err != nil {
		t.Fatal(err)
	}
	if want := readSOPSFixture(t, "multi.sops.yaml.want"); !bytes.Equal(v.Bytes(), want) {
		t.Errorf("decrypted %q, want %q", v.Bytes(), want)
	}
}

func TestIsSOPS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"app.sops.yaml", string(readSOPSFixture(t, "app.sops.yaml")), true},
		// The name only says what to try first.
		{"secret.yaml.enc", string(readSOPSFixture(t, "app.sops.yaml")), true},
		{"secret.txt", string(readSOPSFixture(t, "db.sops.env")), true},
		{"secret", string(readSOPSFixture(t, "cert.sops.pem")), true},
		{"app.yaml", string(readSOPSFixture(t, "plain/app.yaml")), false},
		{"config.yaml", "sops:\n  mac: on\n", false},
		{"config.yaml", "name: x\nsops: {enabled: true, lastmodified: today}\n", false},
		{"config.json", `{"sops": "mac lastmodified"}`, false},
		{"app.env", "sops_mac=x\n", false},
		{"x.age", "age-encryption.org/v1\n-> X25519 abc\nsops mac lastmodified", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		if got := IsSOPS(tt.name, []byte(tt.data)); got != tt.want {
			t.Errorf("IsSOPS(%s, %.40q…) = %v, want %v", tt.name, tt.data, got, tt.want)
		}
	}
	if _, err := DecryptSOPS("app.yaml", readSOPSFixture(t, "plain/app.yaml"), nil, SecretLimit); !errors.Is(err, ErrNotSOPS) {
		t.Errorf("DecryptSOPS(plain) = %v, want ErrNotSOPS", err)
	}
}

func TestDecryptSOPSLimits(t *testing.T) {
	t.Parallel()
	ids := sopsIdentities(t, "age.key")
	_, err := DecryptSOPS("app.sops.yaml", readSOPSFixture(t, "app.sops.yaml"), ids, 100)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v, want ErrTooLarge", err)
	}
	// Aliases that expand without end, in a later document than the
	// metadata, are refused before anything is expanded.
	laughs := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 'b', 'a'; i <= 'k'; i, prev = i+1, i {
		laughs += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, prev, prev, prev, prev, prev, prev, prev, prev, prev)
	}
	laughs = string(readSOPSFixture(t, "app.sops.yaml")) + "---\n" + laughs
	if _, err := DecryptSOPS("laughs.yaml", []byte(laughs), ids, SecretLimit); !errors.Is(err, ErrSOPSCorrupt) {
		t.Errorf("aliases: %v, want ErrSOPSCorrupt", err)
	}
	ini := "[sops]\nmac = ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nlastmodified = 2024-01-01T00:00:00Z\n"
	if _, err := DecryptSOPS("app.ini", []byte(ini), ids, SecretLimit); !errors.Is(err, ErrSOPSUnsupported) {
		t.Errorf("INI: %v, want ErrSOPSUnsupported", err)
	}
}

// The stack loader's hook decrypts both kinds of file.
func TestDecrypterTakesAgeAndSOPS(t *testing.T) {
	t.Parallel()
	d := &Decrypter{Identities: sopsIdentities(t, "age.key")}
	v, err := d.Decrypt("secrets/db.sops.env", readSOPSFixture(t, "db.sops.env"))
	if err != nil || !bytes.Equal(v.Bytes(), readSOPSFixture(t, "db.sops.env.want")) {
		t.Errorf("SOPS through the Decrypter: %q, %v", v.Bytes(), err)
	}
	var ct bytes.Buffer
	w, err := age.Encrypt(&ct, d.Identities[0].(*age.X25519Identity).Recipient())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("hunter2"))
	_ = w.Close()
	if v, err := d.Decrypt("pw.age", ct.Bytes()); err != nil || string(v.Bytes()) != "hunter2" {
		t.Errorf("age through the Decrypter: %v", err)
	}
}
