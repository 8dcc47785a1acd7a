package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
)

const plaintext = "s3cr3t-db-password-4711"

func TestDecryptRoundTrip(t *testing.T) {
	id, _ := newX25519(t)
	ids := []age.Identity{id}
	for _, tc := range []struct {
		name string
		ct   []byte
	}{
		{"binary", mustEncrypt(t, []byte(plaintext), false, id.Recipient())},
		{"armored", mustEncrypt(t, []byte(plaintext), true, id.Recipient())},
		{"armored after whitespace", append([]byte("\n  \r\n\t"), mustEncrypt(t, []byte(plaintext), true, id.Recipient())...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Decrypt("db.age", tc.ct, ids)
			if err != nil {
				t.Fatal(err)
			}
			if string(v.Bytes()) != plaintext {
				t.Errorf("decrypted %d bytes, not the plaintext", v.Len())
			}
			d := &Decrypter{Identities: ids}
			var hook func(string, []byte) (Value, error) = d.Decrypt
			if v2, err := hook("db.age", tc.ct); err != nil || !v2.Equal(v) {
				t.Errorf("Decrypter.Decrypt: err %v, equal %v", err, v2.Equal(v))
			}
		})
	}
}

func TestDecryptIsArmoredOnlyWithHeader(t *testing.T) {
	id, _ := newX25519(t)
	if IsArmored(mustEncrypt(t, []byte("x"), false, id.Recipient())) {
		t.Error("binary file reported armored")
	}
	if !IsArmored(mustEncrypt(t, []byte("x"), true, id.Recipient())) {
		t.Error("armored file not reported armored")
	}
}

func TestDecryptErrors(t *testing.T) {
	id, _ := newX25519(t)
	other, _ := newX25519(t)
	ids := []age.Identity{id}
	good := mustEncrypt(t, []byte(plaintext), false, id.Recipient())
	armored := mustEncrypt(t, []byte(plaintext), true, id.Recipient())
	headerEnd := bytes.Index(good, []byte("\n---")) + 1
	headerEnd += bytes.IndexByte(good[headerEnd:], '\n') + 1

	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	// Flipping a base64 character of the last data line keeps valid
	// base64 but changes the payload.
	armoredTampered := bytes.Clone(armored)
	lines := bytes.Split(armoredTampered, []byte("\n"))
	last := lines[len(lines)-3]
	if last[0] == 'A' {
		last[0] = 'B'
	} else {
		last[0] = 'A'
	}

	for _, tc := range []struct {
		name string
		ct   []byte
		ids  []age.Identity
		want error
	}{
		{"not age", []byte("password=" + plaintext + "\n"), ids, ErrNotAge},
		{"empty file", nil, ids, ErrNotAge},
		{"header only intro", []byte("age-encryption.org/v1\n"), ids, ErrTruncated},
		{"truncated in header", good[:headerEnd-10], ids, ErrTruncated},
		{"truncated before payload", good[:headerEnd+16], ids, ErrTruncated},
		{"truncated in payload", good[:len(good)-4], ids, ErrCorrupt},
		{"tampered payload", flip(good, len(good)-1), ids, ErrCorrupt},
		{"tampered header MAC", flip(good, headerEnd-3), ids, ErrCorrupt},
		{"trailing data", append(bytes.Clone(good), 0), ids, ErrCorrupt},
		{"tampered armored", armoredTampered, ids, ErrCorrupt},
		{"armor without footer", armored[:bytes.LastIndex(armored, []byte("-----END"))], ids, ErrTruncated},
		{"corrupt header", corruptHeader(good), ids, ErrCorrupt},
		{"empty plaintext", mustEncrypt(t, nil, false, id.Recipient()), ids, ErrEmpty},
		{"too large", mustEncrypt(t, bytes.Repeat([]byte("x"), int(SecretLimit)), false, id.Recipient()), ids, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Decrypt("stack/db.age", tc.ct, tc.ids)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != "stack/db.age" {
				t.Errorf("error %#v is not a *FileError for stack/db.age", err)
			}
			checkNoLeak(t, err, tc.ct)
			if v.Len() != 0 {
				t.Errorf("a value came back with the error")
			}
		})
	}

	t.Run("wrong identity", func(t *testing.T) {
		ct := mustEncrypt(t, []byte(plaintext), true, id.Recipient())
		_, err := Decrypt("stack/db.age", ct, []age.Identity{other})
		var ne *NoIdentityError
		if !errors.As(err, &ne) {
			t.Fatalf("error %v, want *NoIdentityError", err)
		}
		if ne.Identities != 1 || !slices.Equal(ne.StanzaTypes, []string{"X25519"}) || ne.Path != "stack/db.age" {
			t.Errorf("got %+v", *ne)
		}
		checkNoLeak(t, err, ct)
		if strings.Contains(err.Error(), id.Recipient().String()) {
			t.Errorf("error names a key: %v", err)
		}
	})
	t.Run("missing identity", func(t *testing.T) {
		_, err := Decrypt("stack/db.age", good, nil)
		var ne *NoIdentityError
		if !errors.As(err, &ne) || ne.Identities != 0 || !strings.Contains(err.Error(), EnvIdentityFile) {
			t.Fatalf("error %v, want *NoIdentityError saying how to give one", err)
		}
	})
	t.Run("passphrase file", func(t *testing.T) {
		sr, err := age.NewScryptRecipient("pw")
		if err != nil {
			t.Fatal(err)
		}
		sr.SetWorkFactor(10)
		_, err = Decrypt("stack/db.age", mustEncrypt(t, []byte(plaintext), false, sr), ids)
		if !strings.Contains(fmtErr(err), "passphrase-encrypted files are not supported") {
			t.Errorf("error %v", err)
		}
	})
}

func TestDecryptLimits(t *testing.T) {
	id, _ := newX25519(t)
	ids := []age.Identity{id}
	justUnder := mustEncrypt(t, bytes.Repeat([]byte("x"), int(SecretLimit)-1), false, id.Recipient())
	if v, err := Decrypt("a.age", justUnder, ids); err != nil || v.Len() != int(SecretLimit)-1 {
		t.Errorf("secret one byte under the limit: len %d, err %v", v.Len(), err)
	}
	config := mustEncrypt(t, bytes.Repeat([]byte("x"), 600*1024), false, id.Recipient())
	if _, err := Decrypt("a.age", config, ids); !errors.Is(err, ErrTooLarge) {
		t.Errorf("600 KiB secret: err %v, want ErrTooLarge", err)
	}
	d := &Decrypter{Identities: ids}
	if v, err := d.DecryptConfig("a.age", config); err != nil || v.Len() != 600*1024 {
		t.Errorf("600 KiB config: len %d, err %v", v.Len(), err)
	}
	for n, want := range map[int]error{0: ErrEmpty, 1: nil, int(ConfigLimit) - 1: nil, int(ConfigLimit): ErrTooLarge} {
		if err := CheckSize("c.txt", n, ConfigLimit); !errors.Is(err, want) || (err == nil) != (want == nil) {
			t.Errorf("CheckSize(%d) = %v, want %v", n, err, want)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// checkNoLeak fails if the error text holds the plaintext or any
// distinctive run of the file.
func checkNoLeak(t *testing.T, err error, file []byte) {
	t.Helper()
	msg := fmtErr(err)
	if strings.Contains(msg, plaintext) || strings.Contains(msg, "4711") {
		t.Errorf("error holds the plaintext: %q", msg)
	}
	for line := range bytes.SplitSeq(file, []byte("\n")) {
		if len(line) >= 16 && bytes.Contains([]byte(msg), line[len(line)-16:]) {
			t.Errorf("error quotes the file: %q", msg)
		}
	}
}

// corruptHeader replaces the body of the first stanza with text that is not
// base64 and holds the plaintext, which age would quote in its error.
func corruptHeader(good []byte) []byte {
	lines := bytes.SplitN(good, []byte("\n"), 4)
	lines[2] = []byte("!" + plaintext + "!")
	return bytes.Join(lines, []byte("\n"))
}

func BenchmarkDecrypt(b *testing.B) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	ids := []age.Identity{id}
	for _, size := range []int{64, 64 << 10} {
		ct := mustEncrypt(b, bytes.Repeat([]byte("x"), size), true, id.Recipient())
		b.Run(fmt.Sprintf("armored-%dB", size), func(b *testing.B) {
			for b.Loop() {
				if _, err := Decrypt("b.age", ct, ids); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
