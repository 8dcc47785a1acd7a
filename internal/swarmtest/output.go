package swarmtest

import (
	"bytes"
	"sync"
)

// Output collects what a process started by a test writes, safe to read
// while the process still writes (its stdout and stderr copied by
// os/exec's goroutines).
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
