package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"filippo.io/age"
)

// RepoKeyFile is the version key kept in the repository beside the stack
// file, age-encrypted to everyone allowed to deploy the stack (the same
// recipients as its secrets). With it, a secret's version depends on its
// content and that key only — the same for every teammate, every operator
// and after any rekey — so nobody's own identity renames a secret and
// restarts the services using it.
const RepoKeyFile = ".flotilla-version-key.age"

// UseRepoKey keys versions with the repository's version key when fsys has
// one (RepoKeyFile at its root), decrypting it with s's identities.
func (s *Setup) UseRepoKey(fsys fs.FS) error {
	ct, err := fs.ReadFile(fsys, RepoKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", RepoKeyFile, err)
	}
	if s.Decrypter == nil {
		return fmt.Errorf("%s: the repository keeps its version key encrypted, and no age identity is given to read it", RepoKeyFile)
	}
	key, err := s.Decrypter.Decrypt(RepoKeyFile, ct)
	if err != nil {
		return err
	}
	v, err := NewVersioner(NewValue(bytes.TrimSpace(key.Bytes())))
	if err != nil {
		return fmt.Errorf("%s: %w", RepoKeyFile, err)
	}
	s.Versioner, s.Note = v, ""
	return nil
}

// NewRepoKey is a new version key encrypted to recipients, RepoKeyFile's
// content (armored, so it diffs as text).
func NewRepoKey(recipients []age.Recipient) ([]byte, error) {
	key, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	return Encrypt([]byte(strings.TrimSpace(string(key.Bytes()))+"\n"), recipients, true)
}
