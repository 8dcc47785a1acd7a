package secrets

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
)

// EnvVersionKeyFile names a file holding a version key (GenerateKey's
// format), for operators without identities; the operator's stack mounts
// it as a Docker secret.
const EnvVersionKeyFile = "FLOTILLA_VERSION_KEY_FILE"

// unkeyed is the key used when there is neither an identity nor a key file.
// Then no content is encrypted: the secret files Flotilla reads are
// plaintext to whoever can read them, so a key could hide nothing from
// them. Such versions are plain content hashes in effect, and the choice is
// logged (see VersionerFor).
var unkeyed = sha256.Sum256([]byte("flotilla: no version key configured"))

// VersionerFor picks the version key: derived from the first identity when
// there are identities (always so when any file is age-encrypted), else
// read from keyFile, else the unkeyed default — reported in the returned
// note so the caller can log it.
func VersionerFor(ids []age.Identity, keyFile string) (v *Versioner, note string, err error) {
	switch {
	case len(ids) > 0:
		key, err := KeyFromIdentity(ids[0])
		if err != nil {
			return nil, "", err
		}
		v, err := NewVersioner(key)
		return v, "", err
	case keyFile != "":
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, "", fmt.Errorf("reading the version key: %w", err)
		}
		v, err := NewVersioner(NewValue([]byte(strings.TrimSpace(string(b)))))
		if err != nil {
			return nil, "", fmt.Errorf("version key %s: %w", keyFile, err)
		}
		return v, "", nil
	}
	v, err = NewVersioner(NewValue(unkeyed[:]))
	return v, "no age identity and no " + EnvVersionKeyFile + ": secret and config versions are unkeyed content hashes", err
}
