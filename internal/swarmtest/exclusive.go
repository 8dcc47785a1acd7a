package swarmtest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Exclusive makes the test the only holder of name among every test binary
// on this machine until it ends, for tests that cannot share the swarm:
// the conformance corpus publishes fixed ingress ports, and `go test ./...`
// runs the packages that deploy it in parallel.
func Exclusive(t testing.TB, name string) {
	t.Helper()
	path := filepath.Join(os.TempDir(), "flotilla-test-"+name+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("opening lock %s: %v", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("taking lock %s: %v", path, err)
	}
	// Closing the file releases the lock; registered first, it runs after
	// the test's other cleanups have removed its stacks.
	t.Cleanup(func() { f.Close() })
}
