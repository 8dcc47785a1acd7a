package apply_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// A healthy service with the references a real stack has (network, secret,
// config, healthcheck) and a service that exits 3 at start.
const healthFile = `
services:
  good:
    image: flotilla-test/app:v1
    environment: {PORT: "18090"}
    networks: [back]
    secrets: [pw]
    configs: [conf]
    healthcheck: {test: ["CMD", "/app", "healthcheck"], interval: 1s, timeout: 1s, retries: 2}
  bad:
    image: flotilla-test/app:v1
    environment: {CRASH: "1"}
    deploy:
      restart_policy: {delay: 1s}
networks:
  back: {}
secrets:
  pw: {file: ./pw}
configs:
  conf: {file: ./conf}
`

func TestAssessLiveStack(t *testing.T) {
	t.Parallel()
	d := newDeployer(t)
	d.files["pw"] = &fstest.MapFile{Data: []byte("hunter2")}
	d.files["conf"] = &fstest.MapFile{Data: []byte("level=1")}
	// Detached: apply neither waits nor rolls back; Assess is the judge.
	if _, err := d.deploy(healthFile, nil, apply.Options{Detach: true}); err != nil {
		t.Fatal(err)
	}
	var h apply.StackHealth
	swarmtest.Eventually(t, 2*time.Minute, func() (bool, string, error) {
		services, tasks, err := d.docker.StackTasks(t.Context(), d.stack)
		if err != nil {
			return false, "", err
		}
		h = apply.Assess(services, tasks, time.Now())
		states := map[string]apply.HealthState{}
		for _, s := range h.Services {
			states[s.Name] = s.State
		}
		done := states[d.stack+"_good"] == apply.Healthy && states[d.stack+"_bad"] == apply.Degraded
		return done, fmt.Sprintf("%+v", h.Services), nil
	})
	if h.State != apply.Degraded {
		t.Errorf("stack state = %s, want degraded", h.State)
	}
	want := d.stack + "_bad: task exited with code 3 ("
	if !strings.HasPrefix(h.Reason, want) {
		t.Errorf("stack reason = %q, want it to start with %q", h.Reason, want)
	}
	for _, s := range h.Services {
		if s.Name == d.stack+"_good" && (s.Running != 1 || s.Desired != 1 || s.Reason != "") {
			t.Errorf("good service = %+v, want 1/1 running and no reason", s)
		}
	}
}
