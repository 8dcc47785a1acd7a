package secrets

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Reasons a file cannot become a secret or config. Callers branch with
// errors.Is; FileError says which file.
var (
	ErrNotAge    = errors.New("not an age-encrypted file (neither the binary nor the armored age header)")
	ErrTruncated = errors.New("age file is truncated")
	ErrCorrupt   = errors.New("age file is corrupt, truncated or was tampered with (authentication failed)")
	ErrEmpty     = errors.New("content is empty, and Swarm rejects empty secrets and configs")
	ErrTooLarge  = errors.New("content is too large")

	ErrNotSOPS = errors.New("not a SOPS-encrypted file (no sops metadata with a mac and lastmodified)")
	// ErrSOPSMAC is a SOPS file whose values no longer match its MAC: it
	// was edited without SOPS, or tampered with.
	ErrSOPSMAC = errors.New("SOPS file failed its integrity check: its MAC does not match its values (edited without sops, or tampered with)")
	// ErrSOPSCorrupt is a SOPS file that cannot be read or decrypted as it
	// stands: malformed metadata, or a value that fails authentication.
	ErrSOPSCorrupt = errors.New("SOPS file is malformed or was tampered with")
	// ErrSOPSUnsupported is a SOPS file Flotilla cannot decrypt: INI
	// files, and files whose data key is only for KMS, PGP or Vault keys.
	ErrSOPSUnsupported = errors.New("SOPS file cannot be decrypted by Flotilla")
)

// FileError says what is wrong with one file. Its message never quotes the
// file: a `.age` file that is not age may well be a committed plaintext.
type FileError struct {
	Path string
	Err  error
	// Detail adds words of our own, e.g. sizes; never file content.
	Detail string
}

func (e *FileError) Error() string {
	msg := e.Path + ": " + e.Err.Error()
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

func (e *FileError) Unwrap() error { return e.Err }

// NoIdentityError means none of the identities could decrypt the file: it
// was encrypted for other keys, or no identity was given at all.
type NoIdentityError struct {
	Path string
	// Identities is how many identities were tried.
	Identities int
	// StanzaTypes are the kinds of recipient the file was encrypted for
	// ("X25519", "ssh-ed25519", "scrypt"…), never the keys themselves.
	StanzaTypes []string
	// SOPS is set for a SOPS file; Recipients are then the public keys
	// its data key is encrypted for, as its metadata list them.
	SOPS       bool
	Recipients []string
}

func (e *NoIdentityError) Error() string {
	types := slices.Compact(slices.Sorted(slices.Values(e.StanzaTypes)))
	var b strings.Builder
	b.WriteString(e.Path)
	switch e.Identities {
	case 0:
		if e.SOPS {
			b.WriteString(": no age identity was given to decrypt it (use --identity, " + EnvIdentityFile + ", " +
				EnvSOPSAgeKeyFile + " or " + EnvSOPSAgeKey + ")")
			break
		}
		b.WriteString(": no age identity was given to decrypt it (use --identity or " + EnvIdentityFile + ")")
	case 1:
		b.WriteString(": the identity given cannot decrypt it")
	default:
		fmt.Fprintf(&b, ": none of the %d identities given can decrypt it", e.Identities)
	}
	switch {
	case len(e.Recipients) > 0:
		fmt.Fprintf(&b, "; its data key is encrypted for %s", strings.Join(e.Recipients, ", "))
	case len(types) > 0:
		fmt.Fprintf(&b, "; it is encrypted for recipients of type %s", strings.Join(types, ", "))
	}
	if slices.Contains(types, "scrypt") {
		b.WriteString("; passphrase-encrypted files are not supported, encrypt for a recipient instead")
	}
	return b.String()
}

// SizeLimit is the exclusive upper bound on a secret's or config's size,
// verified on our engine: data must be "larger than 0 and less than" it.
type SizeLimit int

const (
	SecretLimit SizeLimit = 500 * 1024
	ConfigLimit SizeLimit = 1000 * 1024
)

// CheckSize returns a *FileError unless 0 < n < limit. Unencrypted secret and
// config files need the same check as decrypted ones.
func CheckSize(path string, n int, limit SizeLimit) error {
	switch {
	case n == 0:
		return &FileError{Path: path, Err: ErrEmpty}
	case n >= int(limit):
		return &FileError{Path: path, Err: ErrTooLarge, Detail: fmt.Sprintf("%d bytes; it must be under %d", n, limit)}
	}
	return nil
}
