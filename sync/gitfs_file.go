package sync

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"time"
)

func (f *commitFS) Open(name string) (fs.File, error) {
	defer f.enter()()
	n, err := f.lookup("open", name, true)
	if err != nil {
		return nil, err
	}
	info, err := n.info()
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if n.tree != nil {
		return &dirFile{info: info, path: name, entries: n.children()}, nil
	}
	b, err := n.blob()
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &blobFile{Reader: bytes.NewReader(b), info: info}, nil
}

func (f *commitFS) Stat(name string) (fs.FileInfo, error) {
	return f.stat("stat", name, true)
}

func (f *commitFS) Lstat(name string) (fs.FileInfo, error) {
	return f.stat("lstat", name, false)
}

func (f *commitFS) stat(op, name string, follow bool) (fs.FileInfo, error) {
	defer f.enter()()
	n, err := f.lookup(op, name, follow)
	if err != nil {
		return nil, err
	}
	info, err := n.info()
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return info, nil
}

// ReadLink returns a symbolic link's target as written, even one leaving the tree.
func (f *commitFS) ReadLink(name string) (string, error) {
	defer f.enter()()
	n, err := f.lookup("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.mode()&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	target, err := n.linkTarget()
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return target, nil
}

func (f *commitFS) ReadFile(name string) ([]byte, error) {
	defer f.enter()()
	n, err := f.lookup("read", name, true)
	if err != nil {
		return nil, err
	}
	if n.tree != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	}
	b, err := n.blob()
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}

func (f *commitFS) ReadDir(name string) ([]fs.DirEntry, error) {
	defer f.enter()()
	n, err := f.lookup("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if n.tree == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	return n.children(), nil
}

var (
	errIsDir  = errors.New("is a directory")
	errNotDir = errors.New("not a directory")
)

type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return fi.modTime }
func (fi *fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *fileInfo) Sys() any           { return nil }

type dirEntry struct{ n *node }

func (d *dirEntry) Name() string      { return d.n.name }
func (d *dirEntry) IsDir() bool       { return d.n.mode().IsDir() }
func (d *dirEntry) Type() fs.FileMode { return d.n.mode().Type() }
func (d *dirEntry) Info() (fs.FileInfo, error) {
	defer d.n.fsys.enter()()
	return d.n.info()
}
func (d *dirEntry) String() string { return fs.FormatDirEntry(d) }

// blobFile is an open file; its content is read whole at Open, which suits
// stack files and gives Seek and ReadAt for free.
type blobFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (b *blobFile) Stat() (fs.FileInfo, error) { return b.info, nil }
func (b *blobFile) Close() error               { return nil }

type dirFile struct {
	info    fs.FileInfo
	path    string
	entries []fs.DirEntry
	offset  int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Close() error               { return nil }

func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errIsDir}
}

func (d *dirFile) ReadDir(count int) ([]fs.DirEntry, error) {
	rest := d.entries[d.offset:]
	if count <= 0 {
		d.offset = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	count = min(count, len(rest))
	d.offset += count
	return rest[:count], nil
}
