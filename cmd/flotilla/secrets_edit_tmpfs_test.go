package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEditPlaintextStaysInMemory: the plaintext goes to a memory file
// system; with none, only --allow-disk puts it on disk.
func TestEditPlaintextStaysInMemory(t *testing.T) {
	disk := t.TempDir()
	if inMemory(disk) {
		t.Skip("the test's temporary directory is itself a memory file system")
	}
	var stderr bytes.Buffer
	if dir, err := privateTempDir([]string{disk}, disk, false, &stderr); err == nil {
		os.RemoveAll(dir)
		t.Fatalf("without a memory file system and --allow-disk, got %s", dir)
	} else if !strings.Contains(err.Error(), "--allow-disk") {
		t.Errorf("refusal %q does not say how to accept", err)
	}
	dir, err := privateTempDir([]string{disk}, disk, true, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 || filepath.Dir(dir) != disk {
		t.Errorf("--allow-disk: %s (%v, %v), want a 0700 directory in %s", dir, fi.Mode(), err, disk)
	}
	if !strings.Contains(stderr.String(), "on disk") {
		t.Errorf("--allow-disk does not say the plaintext is on disk: %q", stderr.String())
	}
	if inMemory("/dev/shm") {
		dir, err := privateTempDir([]string{disk, "/dev/shm"}, disk, false, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		if !strings.HasPrefix(dir, "/dev/shm/") {
			t.Errorf("with /dev/shm there, the plaintext went to %s", dir)
		}
	}
}

// TestEditRemovesStaleDirectories: what a killed edit left is removed; a
// running edit's directory and other files are not.
func TestEditRemovesStaleDirectories(t *testing.T) {
	place := t.TempDir()
	// 4194304 is the kernel's highest possible pid_max: no process has a
	// larger ID.
	stale := filepath.Join(place, editDirPrefix+"4194305-123")
	running := filepath.Join(place, editDirPrefix+strconv.Itoa(os.Getppid())+"-456")
	other := filepath.Join(place, "flotilla-editor-notes")
	for _, d := range []string{stale, running, other} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(stale, "db_password"), []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	dir, err := privateTempDir([]string{place}, place, true, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale directory is still there (%v)", err)
	}
	for _, d := range []string{running, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	if !strings.Contains(stderr.String(), "removed "+stale) {
		t.Errorf("the removal is not reported: %q", stderr.String())
	}
}
