package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"filippo.io/age/armor"
)

const (
	binaryIntro  = "age-encryption.org/"
	leadingSpace = " \t\r\n"
)

// Decrypt decrypts an age file (binary or ASCII-armored) into a secret's
// value: it must be non-empty and under SecretLimit. path names the file in
// errors. Errors are *NoIdentityError or *FileError wrapping one of the Err
// values, and never contain the file's content or its plaintext.
func Decrypt(path string, ciphertext []byte, ids []age.Identity) (Value, error) {
	return DecryptLimit(path, ciphertext, ids, SecretLimit)
}

// DecryptLimit is Decrypt with another size limit, e.g. ConfigLimit.
func DecryptLimit(path string, ciphertext []byte, ids []age.Identity, limit SizeLimit) (Value, error) {
	var src io.Reader
	switch {
	case IsArmored(ciphertext):
		src = armor.NewReader(bytes.NewReader(bytes.TrimLeft(ciphertext, leadingSpace)))
	case bytes.HasPrefix(ciphertext, []byte(binaryIntro)):
		src = bytes.NewReader(ciphertext)
	default:
		return Value{}, &FileError{Path: path, Err: ErrNotAge}
	}
	tried := ids
	if len(tried) == 0 {
		// Decrypting with an identity that matches nothing still parses the
		// header, so a corrupt file is reported as such and a good one
		// lists its recipient types.
		tried = []age.Identity{noIdentity{}}
	}
	r, err := age.Decrypt(src, tried...)
	if err != nil {
		return Value{}, classify(path, len(ids), err)
	}
	// Read everything before trusting any of it: age authenticates chunk by
	// chunk and reports truncation or tampering only when it gets there.
	plain, err := io.ReadAll(io.LimitReader(r, int64(limit)))
	if err != nil {
		clear(plain)
		return Value{}, classify(path, len(ids), err)
	}
	if len(plain) >= int(limit) {
		clear(plain)
		return Value{}, &FileError{Path: path, Err: ErrTooLarge,
			Detail: fmt.Sprintf("at least %d bytes decrypted; it must be under %d", limit, limit)}
	}
	if err := CheckSize(path, len(plain), limit); err != nil {
		return Value{}, err
	}
	return NewValue(plain), nil
}

// IsArmored reports whether an age file is ASCII-armored, which age does not
// detect by itself.
func IsArmored(ciphertext []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(ciphertext, leadingSpace), []byte(armor.Header))
}

// classify maps age's errors to ours. age's own messages may quote lines of
// the file (its intro, stanza lines, armor lines), so none is passed on.
func classify(path string, identities int, err error) error {
	var noMatch *age.NoIdentityMatchError
	var armorErr *armor.Error
	switch {
	case errors.As(err, &noMatch):
		return &NoIdentityError{Path: path, Identities: identities, StanzaTypes: noMatch.StanzaTypes}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &FileError{Path: path, Err: ErrTruncated}
	case errors.As(err, &armorErr):
		return &FileError{Path: path, Err: ErrCorrupt, Detail: "invalid armor"}
	}
	return &FileError{Path: path, Err: ErrCorrupt}
}

// noIdentity matches no recipient.
type noIdentity struct{}

func (noIdentity) Unwrap([]*age.Stanza) ([]byte, error) { return nil, age.ErrIncorrectIdentity }

// Decrypter holds the identities Flotilla was given. Its methods fit the
// stack loader's hook for encrypted files: age files, and SOPS files
// (IsSOPS), told apart by their content.
type Decrypter struct {
	Identities []age.Identity
}

// Decrypt decrypts a secret's file (limit: SecretLimit).
func (d *Decrypter) Decrypt(path string, ciphertext []byte) (Value, error) {
	return d.decrypt(path, ciphertext, SecretLimit)
}

// DecryptConfig decrypts a config's file (limit: ConfigLimit).
func (d *Decrypter) DecryptConfig(path string, ciphertext []byte) (Value, error) {
	return d.decrypt(path, ciphertext, ConfigLimit)
}

func (d *Decrypter) decrypt(path string, ciphertext []byte, limit SizeLimit) (Value, error) {
	if IsSOPS(path, ciphertext) {
		return DecryptSOPS(path, ciphertext, d.Identities, limit)
	}
	return DecryptLimit(path, ciphertext, d.Identities, limit)
}
