package main

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

// BenchmarkWebhookToApplyStart measures, for a running operator, the time
// from a push webhook's request to the engine receiving the service update
// it leads to (the service's UpdatedAt), over Git served by http-backend.
// Run with -benchtime 20x for the median of 20.
func BenchmarkWebhookToApplyStart(b *testing.B) {
	file := func(color string) string {
		return fmt.Sprintf("services:\n  web:\n    image: flotilla-test/app:v1\n    environment: {COLOR: %q}\n    deploy: {replicas: 0}\n", color)
	}
	o := startOperator(b, map[string]envOpts{"dev": {schedule: "@every 1h", selfHeal: "warn", stackFile: file("0")}})
	c := swarmtest.Client(b)
	o.waitEnv("dev", "COLOR", "0", time.Minute) // the first pass, at start
	swarmtest.Eventually(b, time.Minute, func() (bool, string, error) {
		return len(o.records("dev")) == 1, "waiting for the first record", nil
	})
	var latencies []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		color := fmt.Sprint(i + 1)
		o.push("dev", file(color), "dev: "+color)
		b.StartTimer()
		sent := time.Now()
		if code := o.hook("dev", o.secret); code != http.StatusAccepted {
			b.Fatalf("webhook: %d", code)
		}
		var updated time.Time
		swarmtest.Eventually(b, time.Minute, func() (bool, string, error) {
			s, _, err := c.ServiceInspectWithRaw(b.Context(), o.stacks["dev"]+"_web", swarm.ServiceInspectOptions{})
			if err != nil {
				return false, "", err
			}
			updated = s.UpdatedAt
			got, _ := o.env("dev", "COLOR")
			return got == color, "COLOR " + got, nil
		})
		latencies = append(latencies, updated.Sub(sent))
		b.StopTimer()
		// Let the pass finish and record before the next push.
		swarmtest.Eventually(b, time.Minute, func() (bool, string, error) {
			return len(o.records("dev")) == i+2, "waiting for the record", nil
		})
		b.StartTimer()
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds())/1000, "ms-max")
}
