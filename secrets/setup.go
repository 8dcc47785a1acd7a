package secrets

import (
	"path/filepath"

	"filippo.io/age"
)

// Setup is what rendering a stack needs from this package, built the same
// way by the CLI and the operator: decryption with the identities given and
// the keyed versions of secret and config names.
type Setup struct {
	// Decrypter is nil without identities: stack files may then use no
	// .age or SOPS file.
	Decrypter *Decrypter
	Versioner *Versioner
	// Warnings are for the log (an identity file others can read); Note
	// says how versions are keyed when no identity keys them.
	Warnings []string
	Note     string
}

// InlineIdentities is the content of an identity file already in memory,
// such as SOPS_AGE_KEY's; Name stands for it in errors.
type InlineIdentities struct {
	Name string
	Data Value
}

// NewSetup loads the identity files and inline identities (none is fine)
// and the version key: from the first identity, else from versionKeyFile,
// else a fixed public key (see VersionerFor).
func NewSetup(identityFiles []string, versionKeyFile string, inline ...InlineIdentities) (*Setup, error) {
	s := &Setup{}
	var ids []age.Identity
	if len(identityFiles) > 0 {
		loaded, warnings, err := LoadIdentities(identityFiles...)
		if err != nil {
			return nil, err
		}
		ids, s.Warnings = loaded, warnings
	}
	for _, in := range inline {
		parsed, err := ParseIdentities(in.Name, in.Data.Bytes())
		if err != nil {
			return nil, err
		}
		ids = append(ids, parsed...)
	}
	if len(ids) > 0 {
		s.Decrypter = &Decrypter{Identities: ids}
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

// IdentitiesFromEnv are the identities the environment names, for a
// command given no identity file: the files of EnvIdentityFile (a list)
// and of EnvSOPSAgeKeyFile, and the key material of EnvSOPSAgeKey, which
// stays in memory. getenv is os.Getenv outside tests.
func IdentitiesFromEnv(getenv func(string) string) (files []string, inline []InlineIdentities) {
	for _, p := range filepath.SplitList(getenv(EnvIdentityFile)) {
		if p != "" {
			files = append(files, p)
		}
	}
	if p := getenv(EnvSOPSAgeKeyFile); p != "" {
		files = append(files, p)
	}
	if k := getenv(EnvSOPSAgeKey); k != "" {
		inline = append(inline, InlineIdentities{Name: "$" + EnvSOPSAgeKey, Data: NewValue([]byte(k))})
	}
	return files, inline
}
