package sync

import (
	"fmt"

	"github.com/flotilla-gitops/flotilla/environments"
)

// RetryError is a pass that failed for a reason of the operator's own world
// — an identity or key file it cannot read, the Git cache, the engine or Git
// out of reach, a timeout, the stack's lease held by another writer — not
// because of the commit. Nothing is recorded against the commit: it is
// retried with backoff and never quarantined.
type RetryError struct{ Err error }

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// PinError is a pin the environment cannot honour: it was set for another
// repository or ref (a stack name reused by a new environment). Automatic
// passes stop — they never deploy past a pin — and say why every time.
type PinError struct {
	Environment string
	Pin         Pin
	Why         string
}

func (e *PinError) Error() string {
	return fmt.Sprintf("environment %s is pinned at %s, but %s: run `flotilla resume %s` (or an explicit sync) to lift the pin",
		e.Environment, shortSHA(e.Pin.SHA), e.Why, e.Environment)
}

// honoured checks that p was set for what e deploys from.
func (p *Pin) honoured(e *environments.Environment) error {
	switch {
	case p.Repo != "" && p.Repo != e.Repo.URL:
		return &PinError{Environment: e.Name, Pin: *p, Why: "the pin was set for repository " + p.Repo + ", not " + e.Repo.URL}
	case p.Ref != "" && p.Ref != e.Ref:
		return &PinError{Environment: e.Name, Pin: *p, Why: "the pin was set for " + p.Ref + ", not " + e.Ref}
	}
	return nil
}
