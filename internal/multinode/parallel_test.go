package multinode

import (
	"flag"
	"os"
	"testing"
)

// TestMain lets more of the package's tests run at once than the default
// (one per CPU) unless -parallel says otherwise: they spend their time
// waiting for swarms to converge, not computing, and one at a time they
// would take minutes longer.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "4")
	}
	os.Exit(m.Run())
}
