package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/flotilla-gitops/flotilla/secrets"
)

// recipientsFile is where a repository declares who its secrets are
// encrypted for: one age or SSH public key a line, # comments, as age -R
// takes. The nearest one governs a file: in its directory, else a parent,
// up to the root of the Git repository holding it.
const recipientsFile = ".age-recipients"

// declaredRecipients finds the recipients file that governs path and reads
// it; ("", nil, nil) when there is none. Outside a Git repository only the
// file's own directory counts, so a stray file higher up never decides.
func declaredRecipients(path string) (string, []age.Recipient, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", nil, fmt.Errorf("finding the recipients of %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	dirs := []string{dir}
	for d := dir; ; {
		if exists(filepath.Join(d, ".git")) {
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			dirs = dirs[:1] // no repository: only beside the file
			break
		}
		d = parent
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		file := filepath.Join(d, recipientsFile)
		data, err := os.ReadFile(file)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return "", nil, fmt.Errorf("reading recipients: %w", err)
		}
		rel := relPath(file)
		rs, err := secrets.ParseRecipients(rel, data)
		if err != nil {
			return "", nil, err
		}
		return rel, rs, nil
	}
	return "", nil, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// relPath shows path relative to the current directory when it is below it.
func relPath(path string) string {
	if cwd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(cwd, path); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return path
}

// ownRecipients are the public keys of the identities given: what a file
// is encrypted to when nothing else says whom.
func ownRecipients(ids []age.Identity) []age.Recipient {
	var rs []age.Recipient
	for _, id := range ids {
		switch id := id.(type) {
		case *age.X25519Identity:
			rs = append(rs, id.Recipient())
		case *age.HybridIdentity:
			rs = append(rs, id.Recipient())
		case interface{ Recipient() age.Recipient }: // SSH keys
			rs = append(rs, id.Recipient())
		}
	}
	return rs
}

// recipientNames lists recipients that print as keys, for messages.
func recipientNames(rs []age.Recipient) string {
	var names []string
	for _, r := range rs {
		if s, ok := r.(fmt.Stringer); ok {
			names = append(names, s.String())
		}
	}
	if len(names) == 0 {
		return "your SSH key"
	}
	return strings.Join(names, ", ")
}

// canDecrypt reports whether any of ids opens ciphertext: a rekey or an
// edit that left out every identity used would lock its user out.
func canDecrypt(path string, ciphertext []byte, ids []age.Identity) bool {
	v, err := secrets.DecryptLimit(path, ciphertext, ids, secrets.ConfigLimit)
	clear(v.Bytes())
	return err == nil
}
