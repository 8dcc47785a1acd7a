package secrets

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// SOPS's variables name identities as Flotilla's own does; SOPS_AGE_KEY's
// content is key material, used without touching the disk.
func TestIdentitiesFromEnv(t *testing.T) {
	t.Parallel()
	key, err := os.ReadFile(filepath.Join(sopsDir, "age.key"))
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(sopsDir, "other.key")
	env := map[string]string{
		EnvIdentityFile:   "/a" + string(filepath.ListSeparator) + "/b",
		EnvSOPSAgeKeyFile: other,
		EnvSOPSAgeKey:     string(key),
	}
	files, inline := IdentitiesFromEnv(func(k string) string { return env[k] })
	if !slices.Equal(files, []string{"/a", "/b", other}) {
		t.Errorf("files = %v", files)
	}
	if len(inline) != 1 || inline[0].Name != "$SOPS_AGE_KEY" || !bytes.Equal(inline[0].Data.Bytes(), key) {
		t.Fatalf("inline = %v", inline)
	}

	// The two keys together open the Shamir file, which needs both.
	s, err := NewSetup([]string{other}, "", inline...)
	if err != nil {
		t.Fatal(err)
	}
	if s.Decrypter == nil || len(s.Decrypter.Identities) != 2 {
		t.Fatalf("decrypter %+v", s.Decrypter)
	}
	if _, err := s.Decrypter.Decrypt("shamir.sops.yaml", readSOPSFixture(t, "shamir.sops.yaml")); err != nil {
		t.Errorf("decrypting with file and inline identities: %v", err)
	}

	// A bad SOPS_AGE_KEY is named, never quoted.
	_, err = NewSetup(nil, "", InlineIdentities{Name: "$SOPS_AGE_KEY", Data: NewValue([]byte("AGE-SECRET-KEY-1NOTAKEY"))})
	if err == nil || !strings.Contains(err.Error(), "$SOPS_AGE_KEY") || strings.Contains(err.Error(), "NOTAKEY") {
		t.Errorf("bad key: %v", err)
	}
	// Nothing set: nothing named.
	if files, inline := IdentitiesFromEnv(func(string) string { return "" }); files != nil || inline != nil {
		t.Errorf("empty environment: %v %v", files, inline)
	}
}
