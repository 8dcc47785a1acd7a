package cluster_test

import (
	"fmt"
	"net/http"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// countingTransport counts every HTTP request the Docker client sends.
type countingTransport struct {
	next  http.RoundTripper
	calls atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.next.RoundTrip(r)
}

// countingDocker is a *cluster.Docker whose Engine API calls are counted.
func countingDocker(t testing.TB) (*cluster.Docker, *countingTransport) {
	t.Helper()
	shared := swarmtest.Client(t)
	hc := *shared.HTTPClient()
	ct := &countingTransport{next: hc.Transport}
	hc.Transport = ct
	c, err := client.NewClientWithOpts(client.WithHost(shared.DaemonHost()), client.WithHTTPClient(&hc),
		client.WithVersion(shared.ClientVersion()))
	if err != nil {
		t.Fatal(err)
	}
	return cluster.NewFromClient(c), ct
}

func replicas(n uint64) swarm.ServiceMode {
	return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
}

func createService(t testing.TB, d *cluster.Docker, name string, labels map[string]string) {
	t.Helper()
	_, _, err := d.CreateService(t.Context(), swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: name, Labels: labels},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: swarmtest.ImageV1}},
		Mode:         replicas(0),
	}, cluster.ServiceOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadStackFindsExactlyTheStacksObjects(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	swarmtest.Images(t)
	ctx := t.Context()
	name := swarmtest.Stack(t)
	// Another stack whose name has ours as a prefix: its objects match the
	// engine's name filter "<name>_" but are not ours. Its objects are named
	// in our scope, so swarmtest's cleanup of our stack removes them too.
	other := name + "_v2"
	ours := map[string]string{stack.LabelNamespace: name}
	theirs := map[string]string{stack.LabelNamespace: other}

	createService(t, d, name+"_api", ours)
	createService(t, d, name+"_stray", nil) // unlabelled, in scope: a conflict for diff
	createService(t, d, other+"_api", theirs)
	for _, s := range []struct {
		name   string
		labels map[string]string
	}{{name + "_pw", ours}, {name + "_loose", nil}, {other + "_pw", theirs}, {"custom-" + name, ours}} {
		if _, err := d.CreateSecret(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: s.name, Labels: s.labels}, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateConfig(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: s.name, Labels: s.labels}, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []struct {
		name   string
		labels map[string]string
	}{{name + "_net", ours}, {name + "_free", nil}, {other + "_net", theirs}} {
		if _, err := d.CreateNetwork(ctx, n.name, network.CreateOptions{Driver: "overlay", Labels: n.labels}); err != nil {
			t.Fatal(err)
		}
	}

	live, err := d.ReadStack(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, s := range live.Services {
		got["services"] = append(got["services"], s.Spec.Name)
	}
	for _, s := range live.Secrets {
		got["secrets"] = append(got["secrets"], s.Spec.Name)
	}
	for _, c := range live.Configs {
		got["configs"] = append(got["configs"], c.Spec.Name)
	}
	for _, n := range live.Networks {
		got["networks"] = append(got["networks"], n.Name)
	}
	objects := []string{"custom-" + name, name + "_loose", name + "_pw"}
	sort.Strings(objects)
	want := map[string][]string{
		"services": {name + "_api", name + "_stray"},
		"secrets":  objects,
		"configs":  objects,
		"networks": {name + "_free", name + "_net"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ReadStack(%s) (-want +got):\n%s", name, d)
	}
	if live.Stack != name {
		t.Errorf("Live.Stack = %q, want %q", live.Stack, name)
	}
}

func TestReadStackCallsAreConstant(t *testing.T) {
	t.Parallel()
	d, calls := countingDocker(t)
	swarmtest.Images(t)
	name := swarmtest.Stack(t)
	counts := map[int]int64{}
	created := 0
	for _, n := range []int{1, 8} {
		for ; created < n; created++ {
			createService(t, d, fmt.Sprintf("%s_s%02d", name, created), map[string]string{stack.LabelNamespace: name})
		}
		calls.calls.Store(0)
		live, err := d.ReadStack(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if len(live.Services) < n {
			t.Fatalf("ReadStack found %d services, want at least %d", len(live.Services), n)
		}
		counts[n] = calls.calls.Load()
	}
	for n, c := range counts {
		if c != cluster.ReadStackCalls {
			t.Errorf("ReadStack of %d services made %d API calls, want %d", n, c, cluster.ReadStackCalls)
		}
	}
}

// BenchmarkReadStack reads a 50-service stack (replicas 0, so nothing runs)
// and reports the Engine API calls per read.
func BenchmarkReadStack(b *testing.B) {
	d, calls := countingDocker(b)
	swarmtest.Images(b)
	name := swarmtest.Stack(b)
	labels := map[string]string{stack.LabelNamespace: name}
	for i := range 50 {
		createService(b, d, fmt.Sprintf("%s_s%02d", name, i), labels)
	}
	calls.calls.Store(0)
	b.ResetTimer()
	for b.Loop() {
		live, err := d.ReadStack(b.Context(), name)
		if err != nil {
			b.Fatal(err)
		}
		if len(live.Services) != 50 {
			b.Fatalf("read %d services, want 50", len(live.Services))
		}
	}
	b.ReportMetric(float64(calls.calls.Load())/float64(b.N), "calls/op")
}

// ReadStackNamed lists services by name prefix and inspects the misnamed
// ones a snapshot found: it reads what ReadStack reads, and a misnamed
// service removed since the snapshot is simply gone.
func TestReadStackNamedReadsWhatReadStackReads(t *testing.T) {
	t.Parallel()
	d, calls := countingDocker(t)
	swarmtest.Images(t)
	ctx := t.Context()
	name := swarmtest.Stack(t)
	other := name + "_v2"
	ours := map[string]string{stack.LabelNamespace: name}
	createService(t, d, name+"_api", ours)
	createService(t, d, name+"_stray", nil)
	createService(t, d, other+"_api", map[string]string{stack.LabelNamespace: other})
	createService(t, d, "custom-"+name, ours)
	createService(t, d, "gone-"+name, ours)

	snap, err := d.ReadSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	misnamed := snap.AllMisnamed()[name]
	names := map[string]string{}
	for _, id := range misnamed {
		s, err := d.InspectService(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		names[s.Spec.Name] = id
	}
	if want := []string{"custom-" + name, "gone-" + name}; len(names) != 2 || names[want[0]] == "" || names[want[1]] == "" {
		t.Fatalf("AllMisnamed()[%s] = %v, want the IDs of %v", name, names, want)
	}
	if err := d.RemoveService(ctx, names["gone-"+name]); err != nil {
		t.Fatal(err)
	}

	want, err := d.ReadStack(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	calls.calls.Store(0)
	got, err := d.ReadStackNamed(ctx, name, misnamed)
	if err != nil {
		t.Fatal(err)
	}
	// The label-filtered list of services is replaced by one inspect per
	// misnamed service.
	if n, want := calls.calls.Load(), int64(cluster.ReadStackCalls-1+len(misnamed)); n != want {
		t.Errorf("ReadStackNamed with %d misnamed services made %d API calls, want %d", len(misnamed), n, want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadStackNamed differs from ReadStack (-ReadStack +ReadStackNamed):\n%s", diff)
	}
	var svcs []string
	for _, s := range got.Services {
		svcs = append(svcs, s.Spec.Name)
	}
	sort.Strings(svcs)
	if want := []string{"custom-" + name, name + "_api", name + "_stray"}; !cmp.Equal(svcs, want) {
		t.Errorf("ReadStackNamed(%s) services %v, want %v", name, svcs, want)
	}
}
