package secrets

import (
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
)

func newVersioner(t *testing.T, key Value) *Versioner {
	t.Helper()
	v, err := NewVersioner(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVersionIsKeyed(t *testing.T) {
	k1, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if k1.Len() != 64 || k1.Equal(k2) {
		t.Fatalf("GenerateKey gave %d bytes, or twice the same key", k1.Len())
	}
	v1, v2 := newVersioner(t, k1), newVersioner(t, k2)
	content := []byte(plaintext)

	a, b := v1.Version(content), v1.Version([]byte(plaintext))
	if a != b {
		t.Errorf("same content and key: %s then %s", a, b)
	}
	if !regexp.MustCompile(`^[a-z2-7]{12}$`).MatchString(a) {
		t.Errorf("version %q is not 12 lowercase base32 characters", a)
	}
	if c := v2.Version(content); c == a {
		t.Errorf("another key gives the same version %s", c)
	}
	if c := v1.Version([]byte(plaintext + "\n")); c == a {
		t.Errorf("another content gives the same version %s", c)
	}
	if name, err := v1.Name("shop", "db_pw", content); err != nil || name != "shop_db_pw_"+a {
		t.Errorf("Name = %q, %v; want shop_db_pw_%s", name, err, a)
	}
	if _, err := NewVersioner(NewValue(make([]byte, 31))); err == nil {
		t.Error("a 31-byte key was accepted")
	}
}

func TestKeyFromIdentity(t *testing.T) {
	x1, _ := newX25519(t)
	x2, _ := newX25519(t)
	_, edPEM := newEd25519PEM(t)
	_, rsaPEM := newRSAPEM(t)
	ed, err := ParseIdentities("id_ed25519", edPEM)
	if err != nil {
		t.Fatal(err)
	}
	edAgain, err := ParseIdentities("id_ed25519", edPEM)
	if err != nil {
		t.Fatal(err)
	}
	rsaIDs, err := ParseIdentities("id_rsa", rsaPEM)
	if err != nil {
		t.Fatal(err)
	}
	key := func(id age.Identity) Value {
		t.Helper()
		k, err := KeyFromIdentity(id)
		if err != nil {
			t.Fatal(err)
		}
		if k.Len() != 32 {
			t.Fatalf("derived key is %d bytes", k.Len())
		}
		return k
	}
	if !key(x1).Equal(key(x1)) || !key(ed[0]).Equal(key(edAgain[0])) || !key(rsaIDs[0]).Equal(key(rsaIDs[0])) {
		t.Error("the same identity derives different keys")
	}
	keys := []Value{key(x1), key(x2), key(ed[0]), key(rsaIDs[0])}
	for i := range keys {
		for j := range i {
			if keys[i].Equal(keys[j]) {
				t.Errorf("identities %d and %d derive the same key", i, j)
			}
		}
	}
	if _, err := KeyFromIdentity(noIdentity{}); err == nil {
		t.Error("an identity without material derived a key")
	}
}

// Rekeying re-encrypts the same plaintext for new recipients: the version,
// computed on the plaintext, must not move, or every rekey would roll
// every service.
func TestVersionSurvivesRekey(t *testing.T) {
	oldID, _ := newX25519(t)
	newID, _ := newX25519(t)
	versioner := newVersioner(t, NewValue([]byte(strings.Repeat("k", 32))))

	before := mustEncrypt(t, []byte(plaintext), false, oldID.Recipient())
	v1, err := Decrypt("db.age", before, []age.Identity{oldID})
	if err != nil {
		t.Fatal(err)
	}
	after := mustEncrypt(t, v1.Bytes(), true, newID.Recipient(), oldID.Recipient())
	v2, err := Decrypt("db.age", after, []age.Identity{newID})
	if err != nil {
		t.Fatal(err)
	}
	if string(before) == string(after) {
		t.Fatal("rekeyed file is byte-identical")
	}
	if a, b := versioner.Version(v1.Bytes()), versioner.Version(v2.Bytes()); a != b {
		t.Errorf("version moved on rekey: %s → %s", a, b)
	}
}

func TestVersionedName(t *testing.T) {
	for _, tc := range []struct {
		stack, name, version string
		want, wantErr        string
	}{
		{"shop", "db_pw", "abcdefghij23", "shop_db_pw_abcdefghij23", ""},
		{"shop", "tls.crt", "abcdefghij23", "shop_tls.crt_abcdefghij23", ""},
		{"s", strings.Repeat("n", 64-2-12-1), "abcdefghij23", "s_" + strings.Repeat("n", 49) + "_abcdefghij23", ""},
		{"s", strings.Repeat("n", 50), "abcdefghij23", "", "is 65 characters, Swarm allows 64; shorten the name to 49"},
		{strings.Repeat("s", 60), "n", "abcdefghij23", "", "shorten the stack name"},
		{"shop", "db pw", "abcdefghij23", "", "must be letters, digits"},
		{"shop", "db/pw", "abcdefghij23", "", "must be letters, digits"},
		{"-shop", "db", "abcdefghij23", "", "starting and ending"},
		{"shop", "", "abcdefghij23", "", "must all be set"},
	} {
		got, err := VersionedName(tc.stack, tc.name, tc.version)
		switch {
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("VersionedName(%q, %q, %q) = %q, %v; want %q", tc.stack, tc.name, tc.version, got, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("VersionedName(%q, %q, %q) error %v; want %q", tc.stack, tc.name, tc.version, err, tc.wantErr)
		}
	}
}
