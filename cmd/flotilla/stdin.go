package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// stdinFile is the name a stack file read from standard input (-c -) has
// inside the stack's FS, and in messages.
const stdinFile = "<stdin>"

// maxStdin bounds a stack file read from standard input.
const maxStdin = 16 << 20

// readStdin reads a whole stack file from r.
func readStdin(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, errors.New("-c -: no standard input")
	}
	b, err := io.ReadAll(io.LimitReader(r, maxStdin+1))
	if err != nil {
		return nil, fmt.Errorf("reading the stack file from standard input: %w", err)
	}
	if len(b) > maxStdin {
		return nil, fmt.Errorf("the stack file on standard input is larger than %d MiB", maxStdin>>20)
	}
	return b, nil
}

// withStdin is the directory FS with the stack file read from standard input
// added as stdinFile: paths in it are relative to the directory, as with
// `docker stack deploy -c -`. Everything else, symlink checks included, is
// the directory's.
type withStdin struct {
	dir  fs.FS
	data []byte
}

func (f withStdin) Open(name string) (fs.File, error) {
	if name == stdinFile {
		return &memFile{Reader: bytes.NewReader(f.data), size: int64(len(f.data))}, nil
	}
	return f.dir.Open(name)
}

func (f withStdin) ReadLink(name string) (string, error) {
	if name == stdinFile {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return fs.ReadLink(f.dir, name)
}

func (f withStdin) Lstat(name string) (fs.FileInfo, error) {
	if name == stdinFile {
		return memInfo{size: int64(len(f.data))}, nil
	}
	return fs.Lstat(f.dir, name)
}

var _ fs.ReadLinkFS = withStdin{}

type memFile struct {
	*bytes.Reader
	size int64
}

func (m *memFile) Stat() (fs.FileInfo, error) { return memInfo{size: m.size}, nil }
func (m *memFile) Close() error               { return nil }

type memInfo struct{ size int64 }

func (i memInfo) Name() string       { return stdinFile }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
