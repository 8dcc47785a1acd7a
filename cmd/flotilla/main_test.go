package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the flotilla command inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(closingBrowser{m}, map[string]func(){
		"flotilla": func() { os.Exit(exitCode(run())) },
	})
}

// closingBrowser closes the browser the dashboard's tests share once the
// tests ran (testscript.Main exits the process itself).
type closingBrowser struct{ m *testing.M }

func (c closingBrowser) Run() int {
	code := c.m.Run()
	closeBrowser()
	return code
}

// TestScripts runs the CLI scripts in testdata/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata"})
}
