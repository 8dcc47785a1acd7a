package secrets

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
)

// FuzzDecrypt feeds arbitrary files to Decrypt: it must never panic, and an
// error must be one of ours, whose text is built only from the path and our
// own words — so no byte of the file can reach a log.
func FuzzDecrypt(f *testing.F) {
	id, err := age.ParseX25519Identity("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
	if err != nil {
		f.Fatal(err)
	}
	ids := []age.Identity{id}
	good := mustEncrypt(f, []byte(plaintext), false, id.Recipient())
	f.Add(good)
	f.Add(mustEncrypt(f, []byte(plaintext), true, id.Recipient()))
	f.Add(mustEncrypt(f, nil, false, id.Recipient()))
	f.Add(good[:len(good)/2])
	f.Add([]byte("age-encryption.org/v1\n-> X25519 \n--- \n"))
	f.Add([]byte("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"))
	f.Add([]byte(plaintext))

	known := []error{ErrNotAge, ErrTruncated, ErrCorrupt, ErrEmpty, ErrTooLarge}
	knownDetails := []string{"", "invalid armor"}
	f.Fuzz(func(t *testing.T, file []byte) {
		v, err := Decrypt("f.age", file, ids)
		if err == nil {
			if v.Len() == 0 || v.Len() >= int(SecretLimit) {
				t.Fatalf("accepted a value of %d bytes", v.Len())
			}
			return
		}
		var fe *FileError
		var ne *NoIdentityError
		switch {
		case errors.As(err, &fe):
			if fe.Path != "f.age" || !slices.Contains(known, fe.Err) {
				t.Fatalf("unexpected error %#v", fe)
			}
			if !slices.Contains(knownDetails, fe.Detail) && !strings.HasPrefix(fe.Detail, "at least ") {
				t.Fatalf("unexpected detail %q", fe.Detail)
			}
		case errors.As(err, &ne):
			// Stanza types come from the file, but are one short word each,
			// and only what a header says publicly.
			for _, typ := range ne.StanzaTypes {
				if bytes.Contains([]byte(typ), []byte("\n")) {
					t.Fatalf("stanza type %q", typ)
				}
			}
		default:
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}
