package secrets

import "filippo.io/age"

// Setup is what rendering a stack needs from this package, built the same
// way by the CLI and the operator: decryption with the identities given and
// the keyed versions of secret and config names.
type Setup struct {
	// Decrypter is nil without identities: stack files may then use no
	// .age file.
	Decrypter *Decrypter
	Versioner *Versioner
	// Warnings are for the log (an identity file others can read); Note
	// says how versions are keyed when no identity keys them.
	Warnings []string
	Note     string
}

// NewSetup loads the identity files (none is fine) and the version key: from
// the first identity, else from versionKeyFile, else a fixed public key (see
// VersionerFor).
func NewSetup(identityFiles []string, versionKeyFile string) (*Setup, error) {
	s := &Setup{}
	if len(identityFiles) > 0 {
		ids, warnings, err := LoadIdentities(identityFiles...)
		if err != nil {
			return nil, err
		}
		s.Decrypter, s.Warnings = &Decrypter{Identities: ids}, warnings
	}
	var err error
	if s.Versioner, s.Note, err = VersionerFor(s.identities(), versionKeyFile); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Setup) identities() []age.Identity {
	if s.Decrypter == nil {
		return nil
	}
	return s.Decrypter.Identities
}
