package secrets

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// EnvIdentityFile names the environment variable holding identity file
// paths, separated by the OS list separator, used when no --identity is given.
const EnvIdentityFile = "FLOTILLA_AGE_IDENTITY_FILE"

// LoadIdentities reads age identity files: X25519 identities (several per
// file, with comments and blank lines) or one unencrypted SSH ed25519 or RSA
// private key. A file that group or others can access is not an error; it
// comes back as a warning for the caller to log.
func LoadIdentities(paths ...string) (ids []age.Identity, warnings []string, err error) {
	if len(paths) == 0 {
		return nil, nil, errors.New("loading identities: no identity file given")
	}
	for _, path := range paths {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, nil, fmt.Errorf("loading identity file: %w", err)
		}
		if fi.IsDir() {
			return nil, nil, fmt.Errorf("loading identity file %s: is a directory", path)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			warnings = append(warnings, fmt.Sprintf(
				"identity file %s has mode %04o: group or others can access it; run chmod 600 %s", path, perm, path))
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("loading identity file: %w", err)
		}
		parsed, err := ParseIdentities(path, data)
		clear(data)
		if err != nil {
			return nil, nil, err
		}
		ids = append(ids, parsed...)
	}
	return ids, warnings, nil
}

// ParseIdentities parses the content of the identity file called name. Errors
// name the file and line but never quote it: an identity file is a secret.
func ParseIdentities(name string, data []byte) ([]age.Identity, error) {
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN ")) {
		id, err := parseSSHIdentity(name, data)
		if err != nil {
			return nil, err
		}
		return []age.Identity{id}, nil
	}
	var ids []age.Identity
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "AGE-PLUGIN-") {
			return nil, fmt.Errorf("parsing identity file %s: line %d: age plugin identities are not supported", name, i+1)
		}
		parsed, err := age.ParseIdentities(strings.NewReader(line))
		if err != nil {
			return nil, fmt.Errorf("parsing identity file %s: line %d is not an age identity (AGE-SECRET-KEY-1…) nor part of an SSH private key", name, i+1)
		}
		ids = append(ids, parsed...)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("parsing identity file %s: no identity in it", name)
	}
	return ids, nil
}

// sshIdentity keeps the key's secret material next to the agessh identity,
// which does not expose it, so that KeyFromIdentity can derive from it.
type sshIdentity struct {
	age.Identity
	recipient age.Recipient
	material  Value
}

// Recipient is the public key the identity decrypts for.
func (i *sshIdentity) Recipient() age.Recipient { return i.recipient }

func parseSSHIdentity(name string, pemBytes []byte) (age.Identity, error) {
	key, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("parsing identity file %s: the SSH key is protected by a passphrase; "+
				"flotilla runs unattended and needs an unencrypted key or an age identity", name)
		}
		// ssh's parse errors describe the format, never the key bytes.
		return nil, fmt.Errorf("parsing identity file %s as an SSH private key: %w", name, err)
	}
	id, err := agessh.ParseIdentity(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("parsing identity file %s: %w", name, err)
	}
	var material []byte
	var recipient age.Recipient
	switch id := id.(type) {
	case *agessh.Ed25519Identity:
		recipient = id.Recipient()
	case *agessh.RSAIdentity:
		recipient = id.Recipient()
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		material = k.D.Bytes()
	case ed25519.PrivateKey:
		material = k.Seed()
	case *ed25519.PrivateKey:
		material = k.Seed()
	default:
		return nil, fmt.Errorf("parsing identity file %s: SSH key type %T is not supported (use ed25519 or RSA)", name, key)
	}
	return &sshIdentity{Identity: id, recipient: recipient, material: NewValue(material)}, nil
}
