package sync

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/internal/gittest"
)

// fetchFS fetches a commit with files into a cache and returns its file system.
func fetchFS(t *testing.T, files map[string]string, dir string) fs.FS {
	t.Helper()
	remote := gittest.NewRepo(t)
	sha := remote.Commit(files, "files")
	remote.Push("main")
	repo := NewRepo(remote.URL(), environments.Auth{}, t.TempDir())
	if _, err := repo.Fetch(t.Context(), "main"); err != nil {
		t.Fatal(err)
	}
	fsys, err := repo.FS(sha, dir)
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

var treeFiles = map[string]string{
	"stack.yml":               "services: {}\n",
	"run.sh":                  "#!/bin/sh\n",
	"envs/dev.yml":            "dev\n",
	"envs/prod/stack.yml":     "prod\n",
	"envs/prod/secret.age":    "age-encryption.org/v1\n",
	"a-b/c":                   "sorting: a-b sorts after a in Go, before a/ in Git\n",
	"a/x":                     "x\n",
	"current.yml":             gittest.Link("envs/dev.yml"),
	"envs/prod/common.yml":    gittest.Link("../../stack.yml"),
	"latest":                  gittest.Link("envs/prod"),
	"envs/prod/deep/link.yml": gittest.Link("../../../latest/stack.yml"),
}

func TestCommitFSPassesTestFS(t *testing.T) {
	t.Parallel()
	fsys := fetchFS(t, treeFiles, ".")
	if err := fstest.TestFS(fsys, "stack.yml", "envs/prod/stack.yml", "current.yml", "latest", "a-b/c"); err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(fsys, "envs")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(sub, "dev.yml", "prod/stack.yml"); err != nil {
		t.Fatal(err)
	}
}

func TestCommitFSSymlinks(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"stack.yml":        "root\n",
		"envs/in.yml":      gittest.Link("../stack.yml"),
		"envs/out.yml":     gittest.Link("../../etc/passwd"),
		"envs/abs.yml":     gittest.Link("/etc/passwd"),
		"envs/loop.yml":    gittest.Link("loop.yml"),
		"envs/stack.yml":   "env\n",
		"envs/through/x":   "x\n",
		"envs/via-dir.yml": gittest.Link("through/x"),
	}
	root := fetchFS(t, files, ".")
	envs := fetchFS(t, files, "envs") // an environment's path: folder

	for _, tt := range []struct {
		fsys   fs.FS
		name   string
		target string
		err    error  // from ReadFile, following the link
		data   string // when err is nil
	}{
		{root, "envs/in.yml", "../stack.yml", nil, "root\n"},
		{envs, "in.yml", "../stack.yml", nil, "root\n"}, // leaves path: but not the repository
		{root, "envs/out.yml", "../../etc/passwd", ErrLinkEscapes, ""},
		{envs, "out.yml", "../../etc/passwd", ErrLinkEscapes, ""},
		{root, "envs/abs.yml", "/etc/passwd", ErrLinkEscapes, ""},
		{envs, "via-dir.yml", "through/x", nil, "x\n"},
	} {
		target, err := fs.ReadLink(tt.fsys, tt.name)
		if err != nil || target != tt.target {
			t.Errorf("ReadLink(%s) = %q, %v; want %q", tt.name, target, err, tt.target)
		}
		info, err := fs.Lstat(tt.fsys, tt.name)
		if err != nil || info.Mode().Type() != fs.ModeSymlink || info.Size() != int64(len(tt.target)) {
			t.Errorf("Lstat(%s) = %v, %v; want a symlink of size %d", tt.name, info, err, len(tt.target))
		}
		data, err := fs.ReadFile(tt.fsys, tt.name)
		if !errors.Is(err, tt.err) || (tt.err == nil && string(data) != tt.data) {
			t.Errorf("ReadFile(%s) = %q, %v; want %q, %v", tt.name, data, err, tt.data, tt.err)
		}
		if _, err := tt.fsys.Open(tt.name); !errors.Is(err, tt.err) {
			t.Errorf("Open(%s): %v, want %v", tt.name, err, tt.err)
		}
	}
	if _, err := fs.ReadFile(root, "envs/loop.yml"); err == nil {
		t.Error("ReadFile of a link to itself succeeded")
	}
	if _, err := fs.ReadLink(root, "stack.yml"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("ReadLink of a regular file: %v, want fs.ErrInvalid", err)
	}
}

func TestCommitFSInfo(t *testing.T) {
	t.Parallel()
	fsys := fetchFS(t, treeFiles, ".")
	info, err := fs.Stat(fsys, "run.sh")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != int64(len("#!/bin/sh\n")) || info.Mode() != 0o444 || info.IsDir() {
		t.Errorf("Stat(run.sh) = size %d mode %v", info.Size(), info.Mode())
	}
	// Every entry carries the commit's time: Git keeps no file times.
	if want := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC); !info.ModTime().Equal(want) {
		t.Errorf("ModTime = %v, want the commit's %v", info.ModTime(), want)
	}
	if _, err := fs.ReadFile(fsys, "envs"); err == nil {
		t.Error("ReadFile of a directory succeeded")
	}
	if _, err := fs.ReadDir(fsys, "stack.yml"); err == nil {
		t.Error("ReadDir of a file succeeded")
	}
	if _, err := fsys.Open("../stack.yml"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open(../stack.yml): %v, want fs.ErrInvalid", err)
	}
	if _, err := fsys.Open("stack.yml/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(stack.yml/x): %v, want fs.ErrNotExist", err)
	}
}
