package stack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/flotilla-gitops/flotilla/secrets"
)

// maxLinks bounds symlink chains, as the kernel does (ELOOP).
const maxLinks = 40

// resolvePath turns a path written in a stack file, relative to dir (a
// directory inside fsys), into a path inside fsys. It refuses anything that
// would read outside fsys: absolute paths, "..", and symlinks that point out.
// os.DirFS follows symlinks wherever they lead, so each component is checked
// with fs.Lstat/fs.ReadLink when the FS supports them.
func resolvePath(fsys fs.FS, dir, name string) (string, error) {
	if name == "" {
		return "", errors.New("empty path")
	}
	if path.IsAbs(name) || strings.HasPrefix(name, "~") || (len(name) > 1 && name[1] == ':') {
		return "", fmt.Errorf("path %q is absolute: stack files may only reference files inside their directory", name)
	}
	p := path.Join(dir, name)
	if !fs.ValidPath(p) {
		return "", fmt.Errorf("path %q leaves the stack's directory", name)
	}
	resolved, err := resolveLinks(fsys, p)
	if err != nil {
		return "", fmt.Errorf("path %q: %w", name, err)
	}
	return resolved, nil
}

// resolveLinks walks p component by component, replacing symlinks by their
// targets, and fails when a target is absolute or climbs above the root.
func resolveLinks(fsys fs.FS, p string) (string, error) {
	if _, ok := fsys.(fs.ReadLinkFS); !ok {
		return p, nil // e.g. a Git tree or fstest.MapFS: no symlinks to follow
	}
	done := "."
	rest := strings.Split(p, "/")
	hops := 0
	for len(rest) > 0 {
		elem := rest[0]
		rest = rest[1:]
		cur := path.Join(done, elem)
		info, err := fs.Lstat(fsys, cur)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return path.Join(append([]string{cur}, rest...)...), nil
			}
			return "", err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			done = cur
			continue
		}
		hops++
		if hops > maxLinks {
			return "", errors.New("too many levels of symbolic links")
		}
		target, err := fs.ReadLink(fsys, cur)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			return "", fmt.Errorf("symlink %s points outside the stack's directory (to %s)", cur, target)
		}
		next := path.Join(done, target)
		if !fs.ValidPath(next) {
			return "", fmt.Errorf("symlink %s points outside the stack's directory (to %s)", cur, target)
		}
		// Re-walk the target: it may itself contain links.
		rest = append(strings.Split(next, "/"), rest...)
		done = "."
	}
	return done, nil
}

// MaxFileSize caps stack files and env files. A repository can hold a file
// of any size, and each is read whole into memory: the size is checked
// before a byte is read.
const MaxFileSize = 4 << 20

// Caps on what a secret's or config's file may be, before it is read: a
// config must be under Docker's limit; a secret's file may be encrypted (an
// age or SOPS file, whose ciphertext is about 4/3 of the content, base64,
// plus a header), and what it holds is checked against the limit once
// decrypted.
var (
	maxConfigFile    = int64(secrets.ConfigLimit) - 1
	maxEncryptedFile = int64(secrets.SecretLimit)*14/10 + 64<<10
)

// readFile reads a file referenced from a stack file, inside fsys only,
// refusing one over limit bytes before reading it.
func readFile(fsys fs.FS, dir, name string, limit int64) (string, []byte, error) {
	p, err := resolvePath(fsys, dir, name)
	if err != nil {
		return "", nil, err
	}
	tooLarge := func(size int64) error {
		return &secrets.FileError{Path: p, Err: secrets.ErrTooLarge,
			Detail: fmt.Sprintf("%d bytes; it must be at most %d here", size, limit)}
	}
	// A Git tree knows a blob's size without reading it.
	if fi, err := fs.Stat(fsys, p); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return p, nil, tooLarge(fi.Size())
	}
	f, err := fsys.Open(p)
	if err != nil {
		return p, nil, fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	// The file may have grown since the Stat.
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return p, nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if int64(len(b)) > limit {
		return p, nil, tooLarge(int64(len(b)))
	}
	return p, b, nil
}
