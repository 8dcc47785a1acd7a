package secrets

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
)

// ParseRecipient parses one public key: age1… (X25519 or post-quantum) or an
// SSH public key line (ssh-ed25519 or ssh-rsa).
func ParseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "ssh-") {
		r, err := agessh.ParseRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("parsing SSH recipient: %w", err)
		}
		return r, nil
	}
	rs, err := age.ParseRecipients(strings.NewReader(s))
	if err != nil {
		return nil, fmt.Errorf("parsing recipient %q: %w", s, err)
	}
	if len(rs) != 1 {
		return nil, fmt.Errorf("parsing recipient %q: want one recipient, got %d", s, len(rs))
	}
	return rs[0], nil
}

// ParseRecipients parses a recipients file: one public key a line, with
// comments and blank lines, like age's -R.
func ParseRecipients(name string, data []byte) ([]age.Recipient, error) {
	var rs []age.Recipient
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := ParseRecipient(line)
		if err != nil {
			return nil, fmt.Errorf("recipients file %s, line %d: %w", name, i+1, err)
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("recipients file %s: no recipient in it", name)
	}
	return rs, nil
}

// Encrypt encrypts plaintext for recipients, ASCII-armored if armored.
func Encrypt(plaintext []byte, recipients []age.Recipient, armored bool) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, fmt.Errorf("encrypting: no recipient given")
	}
	var out bytes.Buffer
	var dst io.Writer = &out
	var aw io.WriteCloser
	if armored {
		aw = armor.NewWriter(&out)
		dst = aw
	}
	w, err := age.Encrypt(dst, recipients...)
	if err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if aw != nil {
		if err := aw.Close(); err != nil {
			return nil, fmt.Errorf("encrypting: armoring: %w", err)
		}
	}
	return out.Bytes(), nil
}
