package sync

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrLinkEscapes is returned when following a symbolic link would leave the
// commit's tree.
var ErrLinkEscapes = errors.New("symbolic link leaves the repository")

// maxLinkHops bounds symbolic link chains, as the kernel does with ELOOP.
const maxLinkHops = 40

// CommitFS is a read-only file system over a commit's tree, read straight
// from the object store: nothing is checked out or written. Symbolic links
// (git mode 120000) are followed by Open, Stat, ReadFile and ReadDir when they
// stay inside the tree, and are visible as links through fs.ReadLink and
// fs.Lstat so a loader can refuse them. Submodules are not visible. Every
// entry's modification time is the commit's.
func CommitFS(c *object.Commit) (fs.FS, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading tree of commit %s: %w", c.Hash, err)
	}
	return &commitFS{root: tree, modTime: c.Committer.When}, nil
}

type commitFS struct {
	root    *object.Tree
	modTime time.Time
	// lock, when set, is held while reading objects: Repo.FS sets it so a
	// fetch never changes the store under a reader.
	lock gosync.Locker
}

func (f *commitFS) enter() func() {
	if f.lock == nil {
		return func() {}
	}
	f.lock.Lock()
	return f.lock.Unlock
}

var (
	_ fs.ReadLinkFS = (*commitFS)(nil)
	_ fs.ReadFileFS = (*commitFS)(nil)
	_ fs.ReadDirFS  = (*commitFS)(nil)
	_ fs.StatFS     = (*commitFS)(nil)
)

// node is one entry of the tree. parent is nil for the root.
type node struct {
	fsys   *commitFS
	name   string
	entry  object.TreeEntry
	parent *object.Tree
	tree   *object.Tree // directories only
}

// lookup finds name in the tree. Links in the leading elements are always
// followed; a link in the last element only when follow is set.
func (f *commitFS) lookup(op, name string, follow bool) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	fail := func(err error) (*node, error) { return nil, &fs.PathError{Op: op, Path: name, Err: err} }
	rest, hops := name, 0
walk:
	for {
		cur, dir := f.root, "."
		if rest == "." {
			return &node{fsys: f, name: ".", entry: object.TreeEntry{Name: ".", Mode: filemode.Dir, Hash: f.root.Hash}, tree: f.root}, nil
		}
		parts := strings.Split(rest, "/")
		for i, part := range parts {
			e := findEntry(cur, part)
			if e == nil {
				return fail(fs.ErrNotExist)
			}
			last := i == len(parts)-1
			n := &node{fsys: f, name: part, entry: *e, parent: cur}
			switch {
			case e.Mode == filemode.Symlink && (follow || !last):
				if hops++; hops > maxLinkHops {
					return fail(errors.New("too many levels of symbolic links"))
				}
				target, err := n.linkTarget()
				if err != nil {
					return fail(err)
				}
				joined := path.Join(dir, target)
				if path.IsAbs(target) || joined == ".." || strings.HasPrefix(joined, "../") {
					return fail(ErrLinkEscapes)
				}
				rest = path.Join(append([]string{joined}, parts[i+1:]...)...)
				continue walk
			case e.Mode == filemode.Dir:
				sub, err := cur.Tree(part)
				if err != nil {
					return fail(err)
				}
				if last {
					n.tree = sub
					return n, nil
				}
				cur, dir = sub, path.Join(dir, part)
			case last:
				return n, nil
			default: // a file used as a directory
				return fail(fs.ErrNotExist)
			}
		}
	}
}

// findEntry finds a direct child; submodules are not part of the file system.
func findEntry(t *object.Tree, name string) *object.TreeEntry {
	for i := range t.Entries {
		if e := &t.Entries[i]; e.Name == name {
			if e.Mode == filemode.Submodule {
				return nil
			}
			return e
		}
	}
	return nil
}

func (n *node) blob() ([]byte, error) {
	file, err := n.parent.TreeEntryFile(&n.entry)
	if err != nil {
		return nil, err
	}
	r, err := file.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (n *node) linkTarget() (string, error) {
	b, err := n.blob()
	return string(b), err
}

func (n *node) mode() fs.FileMode {
	switch n.entry.Mode {
	case filemode.Dir:
		return fs.ModeDir | 0o555
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Executable:
		return 0o555
	}
	return 0o444
}

func (n *node) info() (fs.FileInfo, error) {
	fi := &fileInfo{name: n.name, mode: n.mode(), modTime: n.fsys.modTime}
	if n.entry.Mode.IsFile() {
		file, err := n.parent.TreeEntryFile(&n.entry)
		if err != nil {
			return nil, err
		}
		fi.size = file.Size
	}
	return fi, nil
}

// children lists a directory sorted by name, as fs.ReadDir promises (Git
// sorts directories as if their names ended in a slash).
func (n *node) children() []fs.DirEntry {
	var out []fs.DirEntry
	for _, e := range n.tree.Entries {
		if e.Mode == filemode.Submodule {
			continue
		}
		out = append(out, &dirEntry{&node{fsys: n.fsys, name: e.Name, entry: e, parent: n.tree}})
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}
