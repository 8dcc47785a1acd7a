package cluster

import (
	"os"
	"os/exec"
	"testing"
)

// A holder is gone at once only when it is a process of this host and of
// this PID namespace that no longer exists: a container on the host's
// network has the host's name but PIDs of its own, and must wait for
// expiry like any holder elsewhere.
func TestHolderGoneOnlyInTheSamePIDNamespace(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	dead := Holder{ID: "x", Host: host, PID: cmd.Process.Pid, PIDNamespace: pidNamespace()}
	if !dead.gone() {
		t.Error("a finished process of this host and PID namespace is not gone")
	}
	alive := dead
	alive.PID = os.Getpid()
	if alive.gone() {
		t.Error("this very process is gone")
	}
	for name, h := range map[string]Holder{
		"another PID namespace": {ID: "x", Host: host, PID: cmd.Process.Pid, PIDNamespace: "pid:[1]"},
		"no PID namespace":      {ID: "x", Host: host, PID: cmd.Process.Pid},
		"a swarm task":          {ID: "x", Host: host, PID: cmd.Process.Pid, PIDNamespace: pidNamespace(), Task: "flotilla.1.abc"},
		"another host":          {ID: "x", Host: host + "-elsewhere", PID: cmd.Process.Pid, PIDNamespace: pidNamespace()},
	} {
		if h.gone() {
			t.Errorf("%s: a holder that may still be alive counted as gone", name)
		}
	}
}
