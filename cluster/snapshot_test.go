package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
	"github.com/flotilla-gitops/flotilla/stack"
)

// A snapshot answers for every stack what ReadStack, StackTasks and
// ConfigsByLabel answer for one: the same objects, chosen by the same
// rules (labels, names in scope, another stack sharing the prefix).
func TestSnapshotAnswersWhatTheStacksReadsAnswer(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	swarmtest.Images(t)
	ctx := t.Context()
	name := swarmtest.Stack(t)
	other := name + "_v2"
	ours := map[string]string{stack.LabelNamespace: name}
	theirs := map[string]string{stack.LabelNamespace: other}
	createService(t, d, name+"_api", ours)
	createService(t, d, name+"_stray", nil)
	createService(t, d, name+"_foreign", map[string]string{stack.LabelStack: "elsewhere"})
	createService(t, d, other+"_api", theirs)
	for _, s := range []struct {
		name   string
		labels map[string]string
	}{{name + "_pw", ours}, {name + "_loose", nil}, {other + "_pw", theirs}, {"custom-" + name, ours},
		{"flotilla.history." + name + ".1", map[string]string{cluster.LabelManaged: "true", "io.flotilla.history": name}}} {
		if _, err := d.CreateSecret(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: s.name, Labels: s.labels}, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateConfig(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: s.name, Labels: s.labels}, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		// Neither is in a stack's namespace: the stack's cleanup leaves them.
		removeConfig(t, d, "flotilla.history."+name+".1")
		ctx := context.WithoutCancel(t.Context())
		ids, err := d.SecretIDs(ctx, []string{"flotilla.history." + name + ".1"})
		if err != nil {
			t.Error(err)
		}
		for _, id := range ids {
			if err := d.RemoveSecret(ctx, id); err != nil {
				t.Error(err)
			}
		}
	})
	for _, n := range []struct {
		name   string
		labels map[string]string
	}{{name + "_net", ours}, {name + "_free", nil}, {other + "_net", theirs}} {
		if _, err := d.CreateNetwork(ctx, n.name, network.CreateOptions{Driver: "overlay", Labels: n.labels}); err != nil {
			t.Fatal(err)
		}
	}

	// A network just created gets its driver, options and IPAM when the
	// swarm allocates it: wait, so that both reads see the same.
	swarmtest.Eventually(t, time.Minute, func() (bool, string, error) {
		for _, n := range []string{name + "_net", name + "_free", other + "_net"} {
			got, err := d.API().NetworkInspect(ctx, n, network.InspectOptions{})
			if err != nil || got.Driver == "" || len(got.IPAM.Config) == 0 {
				return false, "network " + n + " not allocated yet", err
			}
		}
		return true, "", nil
	})
	snap, err := d.ReadSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The snapshot's services carry their task counts besides; everything
	// else must be what the stack's own reads return.
	ignore := cmp.Options{cmpopts.IgnoreFields(swarm.Service{}, "ServiceStatus"), cmpopts.EquateEmpty(),
		cmpopts.IgnoreFields(stack.Live{}, "NetworkNames")}
	for _, s := range []string{name, other} {
		want, err := d.ReadStack(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := snap.ReadStack(ctx, s)
		if diff := cmp.Diff(want, got, ignore); diff != "" {
			t.Errorf("stack %s: the snapshot's objects differ from ReadStack's (-ReadStack +snapshot):\n%s", s, diff)
		}
		for id, n := range want.NetworkNames {
			if got.NetworkNames[id] != n && isOurs(n, name) {
				t.Errorf("stack %s: network %s is named %q in the snapshot, %q by ReadStack", s, id, got.NetworkNames[id], n)
			}
		}
		wantSvcs, wantTasks, err := d.StackTasks(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		gotSvcs, gotTasks, _ := snap.StackTasks(ctx, s)
		if diff := cmp.Diff(names(wantSvcs), names(gotSvcs)); diff != "" || len(wantTasks) != len(gotTasks) {
			t.Errorf("stack %s: StackTasks from the snapshot (-engine +snapshot):\n%s; %d tasks, want %d", s, diff, len(gotTasks), len(wantTasks))
		}
	}
	for _, label := range []string{"io.flotilla.history=" + name, stack.LabelNamespace + "=" + other} {
		want, err := d.ConfigsByLabel(ctx, label)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := snap.ConfigsByLabel(ctx, label)
		if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b swarm.Config) bool { return a.ID < b.ID })); diff != "" || len(got) != 1 {
			t.Errorf("configs labelled %s from the snapshot (-engine +snapshot):\n%s", label, diff)
		}
	}
}

func isOurs(network, stackName string) bool { return cluster.InScope(stackName, network) }

func names(svcs []swarm.Service) []string {
	var out []string
	for _, s := range svcs {
		out = append(out, s.Spec.Name)
	}
	return out
}

func removeConfig(t *testing.T, d *cluster.Docker, name string) {
	ctx := context.WithoutCancel(t.Context())
	list, err := d.ConfigsByLabel(ctx, cluster.LabelManaged)
	if err != nil {
		t.Error(err)
		return
	}
	for _, c := range list {
		if c.Spec.Name == name {
			if err := d.RemoveConfig(ctx, c.ID); err != nil {
				t.Error(err)
			}
		}
	}
}

// However many stacks and services the cluster holds, a snapshot is the
// same few list calls.
func TestSnapshotCallsAreConstant(t *testing.T) {
	t.Parallel()
	d, calls := countingDocker(t)
	swarmtest.Images(t)
	counts := map[int]int64{}
	created := 0
	var stacks []string
	for _, n := range []int{1, 6} {
		for ; created < n; created++ {
			s := swarmtest.Stack(t)
			stacks = append(stacks, s)
			createService(t, d, s+"_web", map[string]string{stack.LabelNamespace: s})
		}
		calls.calls.Store(0)
		snap, err := d.ReadSnapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		counts[n] = calls.calls.Load()
		for _, s := range stacks {
			if live, _ := snap.ReadStack(t.Context(), s); len(live.Services) != 1 {
				t.Errorf("the snapshot has %d services of stack %s, want 1", len(live.Services), s)
			}
		}
	}
	for n, c := range counts {
		if c != cluster.SnapshotCalls {
			t.Errorf("a snapshot of a cluster with %d stacks made %d API calls, want %d", n, c, cluster.SnapshotCalls)
		}
	}
}

func TestRequestKindLeavesIDsOut(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ method, path, want string }{
		{"GET", "/v1.41/services", "GET /services"},
		{"GET", "/v1.41/services/abc123", "GET /services/{id}"},
		{"POST", "/v1.41/services/abc123/update", "POST /services/{id}/update"},
		{"POST", "/v1.41/configs/create", "POST /configs/create"},
		{"DELETE", "/v1.41/configs/xyz", "DELETE /configs/{id}"},
		{"GET", "/v1.41/distribution/registry.example:5000/team/app:v1/json", "GET /distribution/{name}/json"},
		{"HEAD", "/_ping", "HEAD /_ping"},
		{"GET", "/version", "GET /version"},
	} {
		if got := cluster.RequestKind(tt.method, tt.path); got != tt.want {
			t.Errorf("RequestKind(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func ExampleRequestKind() {
	fmt.Println(cluster.RequestKind("POST", "/v1.41/services/k2x9/update"))
	// Output: POST /services/{id}/update
}
