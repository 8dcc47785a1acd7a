package apply_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// BenchmarkNoopDeploy measures a deploy of a 30-service stack that is
// already in place: render, read the live stack, plan, apply. It reports the
// Engine API calls it makes (all of them, and writes, which must be 0).
func BenchmarkNoopDeploy(b *testing.B) {
	swarmtest.Images(b)
	api, calls := swarmtest.CountingClient(b)
	d := cluster.NewFromClient(api)
	name := swarmtest.Stack(b)
	var file strings.Builder
	file.WriteString("services:\n")
	for i := range 30 {
		// No replicas: the benchmark is about the calls, not the tasks.
		fmt.Fprintf(&file, "  s%02d:\n    image: flotilla-test/app:v1\n    deploy: {replicas: 0}\n", i)
	}
	fsys := fstest.MapFS{"stack.yml": {Data: []byte(file.String())}}
	pass := func() (diff.Plan, *apply.Result) {
		desired, err := stack.Load(b.Context(), fsys, stack.Options{Files: []string{"stack.yml"}, Stack: name})
		if err != nil {
			b.Fatal(err)
		}
		live, err := d.ReadStack(b.Context(), name)
		if err != nil {
			b.Fatal(err)
		}
		plan := diff.Compute(desired, live)
		res, err := apply.Run(b.Context(), d, plan, apply.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return plan, res
	}
	pass() // create
	start := calls.Load()
	b.ResetTimer()
	for b.Loop() {
		plan, res := pass()
		if plan.HasChanges() || len(res.Created)+len(res.Updated)+len(res.Removed) > 0 {
			b.Fatalf("a deploy of an unchanged stack changed something: %+v", plan.Summary())
		}
	}
	b.ReportMetric(float64(calls.Load()-start)/float64(b.N), "api-calls/op")
}
