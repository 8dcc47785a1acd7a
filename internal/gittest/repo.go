package gittest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a bare repository (the remote) and a work clone to commit from.
type Repo struct {
	t testing.TB
	// Bare is the bare repository's directory, ending in repo.git.
	Bare string
	// Work is the clone commits are made in.
	Work string
	// Author is "Name <email>" for the next commits.
	Author string

	commits int
}

// NewRepo creates an empty bare repository and a work clone whose origin it
// is. The work clone starts on branch main, with no commits.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	dir := t.TempDir()
	r := &Repo{
		t:      t,
		Bare:   filepath.Join(dir, "repo.git"),
		Work:   filepath.Join(dir, "work"),
		Author: "Ada Lovelace <ada@example.com>",
	}
	Git(t, dir, "init", "--quiet", "--bare", "--initial-branch=main", r.Bare)
	Git(t, dir, "init", "--quiet", "--initial-branch=main", r.Work)
	r.git("remote", "add", "origin", r.Bare)
	return r
}

// URL is the bare repository's file:// URL.
func (r *Repo) URL() string { return "file://" + r.Bare }

// Git runs git in dir with a configuration isolated from the machine's and
// returns its trimmed output; a failure fails the test.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := gitCmd(dir, nil, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func gitCmd(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_COMMITTER_NAME=Flotilla Test", "GIT_COMMITTER_EMAIL=test@example.com")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

func (r *Repo) git(args ...string) string {
	r.t.Helper()
	return Git(r.t, r.Work, args...)
}

// Switch checks out branch in the work clone, creating it at the current
// commit when it doesn't exist yet.
func (r *Repo) Switch(branch string) {
	r.t.Helper()
	exists := func(ref string) bool {
		return gitCmd(r.Work, nil, "rev-parse", "--verify", "--quiet", ref).Run() == nil
	}
	switch {
	case exists("refs/heads/" + branch):
		r.git("switch", "--quiet", branch)
	case exists("HEAD"):
		r.git("switch", "--quiet", "--create", branch)
	default: // no commit yet: name the unborn branch
		r.git("symbolic-ref", "HEAD", "refs/heads/"+branch)
	}
}

// Commit writes files (path → content; a Link value makes a symbolic link),
// removes the paths in remove, commits everything as r.Author and returns
// the new commit's SHA. Commit dates increase by a minute per commit from
// 2026-01-01, so SHAs are reproducible.
func (r *Repo) Commit(files map[string]string, msg string, remove ...string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		os.Remove(p)
		var err error
		if target, ok := strings.CutPrefix(content, linkPrefix); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			r.t.Fatal(err)
		}
	}
	for _, name := range remove {
		r.git("rm", "--quiet", "-r", name)
	}
	r.git("add", "--all")
	r.commits++
	date := fmt.Sprintf("2026-01-01T00:%02d:00Z", r.commits%60)
	name, email, _ := strings.Cut(r.Author, " <")
	out, err := gitCmd(r.Work, []string{
		"GIT_AUTHOR_NAME=" + name, "GIT_AUTHOR_EMAIL=" + strings.TrimSuffix(email, ">"),
		"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date,
	}, "commit", "--quiet", "--allow-empty", "-m", msg).CombinedOutput()
	if err != nil {
		r.t.Fatalf("git commit: %v\n%s", err, out)
	}
	return r.Head()
}

const linkPrefix = "\x00link:"

// Link is a Commit file content that makes a symbolic link to target.
func Link(target string) string { return linkPrefix + target }

// Head is the SHA of the work clone's current commit.
func (r *Repo) Head() string { return r.git("rev-parse", "HEAD") }

// Push pushes branch to the bare repository.
func (r *Repo) Push(branch string) {
	r.t.Helper()
	r.git("push", "--quiet", "origin", "refs/heads/"+branch+":refs/heads/"+branch)
}

// ForcePush pushes branch even when the remote's tip is not its ancestor.
func (r *Repo) ForcePush(branch string) {
	r.t.Helper()
	r.git("push", "--quiet", "--force", "origin", "refs/heads/"+branch+":refs/heads/"+branch)
}

// Reset moves the current branch of the work clone to commit (for a
// force-push to an older commit).
func (r *Repo) Reset(commit string) {
	r.t.Helper()
	r.git("reset", "--quiet", "--hard", commit)
}

// DeleteBranch deletes branch from the bare repository.
func (r *Repo) DeleteBranch(branch string) {
	r.t.Helper()
	r.git("push", "--quiet", "origin", "--delete", branch)
}
