package main

import (
	"io"
	"os"
)

// isTerminal reports whether w is a terminal, which decides colour and live
// progress lines. TERM=dumb counts as not a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
