package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// pinnedPasses counts the operator's passes of env that applied nothing
// ("unchanged" in its metrics): with a pin, every scheduled pass.
func (o *operator) unchangedPasses(env string) int {
	o.t.Helper()
	resp, err := http.Get(o.api + "/metrics")
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	re := regexp.MustCompile(`flotilla_sync_duration_seconds_count\{environment="` + env + `",result="unchanged"\} (\d+)`)
	m := re.FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// A rollback made with the CLI beside a running operator that heals drift
// must stay: the operator finds the pin and leaves the stack on the older
// commit, and its status agrees.
func TestOperatorKeepsACLIRollback(t *testing.T) {
	t.Parallel()
	o := startOperator(t, map[string]envOpts{"prod": {schedule: "@every 1s", selfHeal: "heal", stackFile: serviceFile("blue", "")}})
	o.waitEnv("prod", "COLOR", "blue", time.Minute)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		recs := o.records("prod")
		return len(recs) == 1, fmt.Sprintf("%d records", len(recs)), nil
	})
	blue := o.records("prod")[0]["commit"].(map[string]any)["sha"].(string)
	o.push("prod", serviceFile("green", ""), "green")
	o.waitEnv("prod", "COLOR", "green", time.Minute)
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		recs := o.records("prod")
		return len(recs) == 2, fmt.Sprintf("%d records", len(recs)), nil
	})

	out, err := exec.Command(buildFlotilla(t), "rollback", "prod", "--config", o.config, "--to", blue[:7]).CombinedOutput()
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	before := o.unchangedPasses("prod")
	swarmtest.Eventually(t, 30*time.Second, func() (bool, string, error) {
		n := o.unchangedPasses("prod")
		return n >= before+3, fmt.Sprintf("%d passes since the rollback", n-before), nil
	})
	if got, err := o.env("prod", "COLOR"); err != nil || got != "blue" {
		t.Fatalf("after the operator's passes COLOR=%q (%v): the rollback to blue was undone", got, err)
	}
	var st struct {
		Deployed struct{ Commit struct{ SHA string } }
		Pin      *struct{ SHA string }
		Drift    []any
	}
	if err := o.getJSON("/api/v1/environments/prod", &st); err != nil {
		t.Fatal(err)
	}
	if st.Deployed.Commit.SHA != blue || st.Pin == nil || st.Pin.SHA != blue || len(st.Drift) != 0 {
		t.Errorf("status after the rollback: %+v, want blue %s deployed and pinned, no drift", st, blue[:7])
	}
}
