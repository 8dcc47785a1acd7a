package diff_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
)

// BenchmarkCompute plans a 200-service stack against a live state where one
// service's env changed: the captured api service, repeated under 200 names.
func BenchmarkCompute(b *testing.B) {
	base := shopDesired("shop")
	applied := liveFixture(b, "applied")
	desiredAPI := base.Services[0]
	var liveAPI swarm.Service
	for _, s := range applied.Services {
		if s.Spec.Name == "shop_api" {
			liveAPI = s
		}
	}
	desired := &stack.Desired{Stack: "shop", Networks: base.Networks, Secrets: base.Secrets, Configs: base.Configs}
	live := *applied
	live.Services = nil
	for i := range 200 {
		name := fmt.Sprintf("shop_svc%03d", i)
		d := stack.Service{Name: name, Spec: clone(b, desiredAPI.Spec)}
		d.Spec.Name = name
		l := liveAPI
		l.ID = fmt.Sprintf("id%03d", i)
		l.Spec = clone(b, liveAPI.Spec)
		l.Spec.Name = name
		if i == 100 {
			d.Spec.TaskTemplate.ContainerSpec.Env = []string{"PORT=8080", "VERSION=v2"}
		}
		desired.Services = append(desired.Services, d)
		live.Services = append(live.Services, l)
	}
	p := diff.Compute(desired, &live)
	if s := p.Summary(); s.Update != 1 || s.Create+s.Delete+s.Replace+s.Conflict != 0 {
		b.Fatalf("plan summary %+v, want exactly one update: %v", s, outline(p))
	}
	b.ReportAllocs()
	for b.Loop() {
		diff.Compute(desired, &live)
	}
}

func clone[T any](t testing.TB, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
