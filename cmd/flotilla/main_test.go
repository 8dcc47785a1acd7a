package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the flotilla command inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"flotilla": func() { os.Exit(exitCode(run())) },
	})
}

// TestScripts runs the CLI scripts in testdata/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata"})
}
