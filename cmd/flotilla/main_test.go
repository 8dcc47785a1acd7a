package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the flotilla command inside scripts,
// and closes the browser the dashboard's tests share.
func TestMain(m *testing.M) {
	code := testscript.RunMain(m, map[string]func() int{
		"flotilla": func() int { return exitCode(run()) },
	})
	closeBrowser()
	os.Exit(code)
}

// TestScripts runs the CLI scripts in testdata/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata"})
}
