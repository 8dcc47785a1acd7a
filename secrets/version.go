package secrets

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"filippo.io/age"
)

// VersionLen is the length of a version: 12 base32 characters, 60 bits of
// the HMAC, plenty to tell apart the values one secret takes over time.
const VersionLen = 12

// MaxNameLen is the longest secret or config name Swarm accepts.
const MaxNameLen = 64

// minKeyLen guards against a key too short to keep guesses out of reach.
const minKeyLen = 32

// versionKeyInfo separates version keys from any other use of an identity's
// secret; bumping it would change every version and roll every secret.
const versionKeyInfo = "flotilla secret version key v1"

// Versioner computes the version that names a secret or config:
// HMAC-SHA256(key, content), truncated. Docker's secret list shows names to
// anyone with API access, so a plain hash there (what other tools use) lets
// them confirm a guessed password offline; without the key, which never sits
// in Git, a version tells nothing about the value.
type Versioner struct {
	key Value
}

// NewVersioner returns a Versioner keyed by key (at least 32 bytes).
func NewVersioner(key Value) (*Versioner, error) {
	if key.Len() < minKeyLen {
		return nil, fmt.Errorf("version key is %d bytes, need at least %d", key.Len(), minKeyLen)
	}
	return &Versioner{key: key}, nil
}

var versionEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Version is content's version, VersionLen lowercase letters and digits. It
// depends on the plaintext only: re-encrypting a file for new recipients
// keeps it, so rekeying restarts nothing.
func (v *Versioner) Version(content []byte) string {
	mac := hmac.New(sha256.New, v.key.Bytes())
	mac.Write(content)
	return versionEncoding.EncodeToString(mac.Sum(nil))[:VersionLen]
}

// Name is the engine name of a stack's secret or config holding content.
func (v *Versioner) Name(stack, name string, content []byte) (string, error) {
	return VersionedName(stack, name, v.Version(content))
}

// KeyFromIdentity derives a version key from an identity's secret material
// (X25519 or a LoadIdentities SSH key) with HKDF and a fixed label, so that
// the same identity always gives the same versions. The derived key reveals
// nothing about the identity, and the versions reveal nothing about values
// to anyone who lacks the identity — who could decrypt the files anyway.
// Callers use the first identity given: reordering identities changes every
// version, which rolls each secret once and does no other harm.
func KeyFromIdentity(id age.Identity) (Value, error) {
	var material []byte
	switch id := id.(type) {
	case *age.X25519Identity:
		material = []byte(id.String())
	case *age.HybridIdentity:
		material = []byte(id.String())
	case *sshIdentity:
		material = id.material.Bytes()
	default:
		return Value{}, fmt.Errorf("deriving a version key: identity type %T has no secret material to derive from; generate a key instead", id)
	}
	key, err := hkdf.Key(sha256.New, material, nil, versionKeyInfo, sha256.Size)
	if err != nil {
		return Value{}, fmt.Errorf("deriving a version key: %w", err)
	}
	return NewValue(key), nil
}

// GenerateKey returns a random version key for operators without an
// identity, as 64 hex characters so it survives a file or a Docker secret.
func GenerateKey() (Value, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Value{}, fmt.Errorf("generating a version key: %w", err)
	}
	key := make([]byte, hex.EncodedLen(len(raw)))
	hex.Encode(key, raw)
	clear(raw)
	return NewValue(key), nil
}

// validName is swarmkit's rule for secret and config names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$`)

// VersionedName is the engine name of a stack's secret or config at a
// version: <stack>_<name>_<version>, checked against Swarm's rules.
func VersionedName(stack, name, version string) (string, error) {
	if stack == "" || name == "" || version == "" {
		return "", errors.New("naming a versioned secret: stack, name and version must all be set")
	}
	full := stack + "_" + name + "_" + version
	if len(full) > MaxNameLen {
		room := MaxNameLen - len(stack) - len(version) - 2
		hint := fmt.Sprintf("shorten the name to %d characters at most", room)
		if room < 1 {
			hint = "shorten the stack name"
		}
		return "", fmt.Errorf("naming secret %q of stack %q: %s is %d characters, Swarm allows %d; %s",
			name, stack, full, len(full), MaxNameLen, hint)
	}
	if !validName.MatchString(full) || strings.ContainsAny(version, "_") {
		return "", fmt.Errorf("naming secret %q of stack %q: %s must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit", name, stack, full)
	}
	return full, nil
}
