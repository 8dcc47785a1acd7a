package sync

// RetryError is a pass that failed for a reason of the operator's own world
// — an identity or key file it cannot read, the Git cache, the engine or Git
// out of reach, a timeout, the stack's lease held by another writer — not
// because of the commit. Nothing is recorded against the commit: it is
// retried with backoff and never quarantined.
type RetryError struct{ Err error }

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }
