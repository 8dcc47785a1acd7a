package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(exitCode(run()))
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
}

// exitError carries a process exit code other than 1, e.g. `diff --exit-code`
// returning 2 for "changes present". A nil err with a code is not an error
// message, only a status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "flotilla:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "flotilla:", err)
	return 1
}
