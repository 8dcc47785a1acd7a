package cluster_test

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/internal/swarmtest"
)

func holder(name string) cluster.Holder {
	h := cluster.NewHolder("flotilla test")
	h.Task = name
	return h
}

// leaseObjects lists the configs labelled as stack's lease.
func leaseObjects(t *testing.T, stack string) []swarm.Config {
	t.Helper()
	list, err := swarmtest.Client(t).ConfigList(t.Context(), swarm.ConfigListOptions{
		Filters: filters.NewArgs(filters.Arg("label", cluster.LabelLease+"="+stack))})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// race has n holders take stack's lease at once and returns the winners
// and the errors of the others.
func race(t *testing.T, d *cluster.Docker, stack string, n int, ttl time.Duration) ([]*cluster.Lease, []error) {
	t.Helper()
	var (
		mu      gosync.Mutex
		wg      gosync.WaitGroup
		winners []*cluster.Lease
		losers  []error
		start   = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			l, err := d.AcquireLease(t.Context(), stack, holder(fmt.Sprintf("racer-%d", i)), ttl)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				losers = append(losers, err)
				return
			}
			winners = append(winners, l)
		})
	}
	close(start)
	wg.Wait()
	return winners, losers
}

// checkLosers wants every error to be a *LeaseHeldError naming winner.
func checkLosers(t *testing.T, losers []error, winner *cluster.Lease) {
	t.Helper()
	for _, err := range losers {
		held, ok := errors.AsType[*cluster.LeaseHeldError](err)
		if !ok {
			t.Errorf("loser's error = %v (%T), want a *LeaseHeldError", err, err)
			continue
		}
		if held.Holder != winner.Holder || held.Stack != winner.Stack {
			t.Errorf("loser was told %s holds %s, want %s", held.Holder, held.Stack, winner.Holder)
		}
		if !held.Since.Equal(winner.Acquired) || !held.Expires.After(time.Now()) {
			t.Errorf("held since %s until %s, want since %s and not expired", held.Since, held.Expires, winner.Acquired)
		}
	}
}

func TestLeaseRaceHasOneWinner(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	stack := swarmtest.Stack(t)

	winners, losers := race(t, d, stack, 6, time.Minute)
	if len(winners) != 1 {
		t.Fatalf("%d holders took the lease at once, want 1 (losers: %v)", len(winners), losers)
	}
	checkLosers(t, losers, winners[0])
	if len(losers) != 5 {
		t.Errorf("%d losers, want 5", len(losers))
	}

	// Released, it is free at once, and no object is left behind.
	if err := winners[0].Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left := leaseObjects(t, stack); len(left) != 0 {
		t.Errorf("after release %d lease objects are left", len(left))
	}
	next, err := d.AcquireLease(t.Context(), stack, holder("next"), time.Minute)
	if err != nil {
		t.Fatalf("taking a released lease: %v", err)
	}
	if err := next.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseExpiryLetsOneTakeOver(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	stack := swarmtest.Stack(t)
	ttl := time.Second

	first, err := d.AcquireLease(t.Context(), stack, holder("first"), ttl)
	if err != nil {
		t.Fatal(err)
	}
	// The first holder dies without releasing: once its lease expired,
	// racers take it over, one of them only.
	swarmtest.Eventually(t, 10*time.Second, func() (bool, string, error) {
		return time.Now().After(first.Expires()), "lease not expired yet", nil
	})
	winners, losers := race(t, d, stack, 5, time.Minute)
	if len(winners) != 1 {
		t.Fatalf("%d holders took over the expired lease, want 1 (losers: %v)", len(winners), losers)
	}
	checkLosers(t, losers, winners[0])
	if n := len(leaseObjects(t, stack)); n != 1 {
		t.Errorf("%d lease objects, want 1", n)
	}

	// The first holder finds out at its next renewal, and can't release
	// the lease of the new one.
	for name, op := range map[string]func(context.Context) error{"Renew": first.Renew, "Release": first.Release} {
		err := op(t.Context())
		lost, ok := errors.AsType[*cluster.LeaseLostError](err)
		if !ok || lost.Holder == nil || *lost.Holder != winners[0].Holder {
			t.Errorf("%s by the expired holder = %v, want a *LeaseLostError naming %s", name, err, winners[0].Holder)
		}
	}
	if n := len(leaseObjects(t, stack)); n != 1 {
		t.Errorf("after the old holder's release %d lease objects, want the new holder's", n)
	}
	if err := winners[0].Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left := leaseObjects(t, stack); len(left) != 0 {
		t.Errorf("after release %d lease objects are left", len(left))
	}
}

func TestLeaseKeptIsNotTakenOver(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	stack := swarmtest.Stack(t)
	ttl := 1500 * time.Millisecond

	l, err := d.AcquireLease(t.Context(), stack, holder("keeper"), ttl)
	if err != nil {
		t.Fatal(err)
	}
	firstExpiry := l.Expires()
	held, stop := l.Keep(t.Context())
	// Well past the first expiry, the lease is still held.
	swarmtest.Eventually(t, 20*time.Second, func() (bool, string, error) {
		return time.Now().After(firstExpiry.Add(2 * ttl)), "waiting", nil
	})
	_, err = d.AcquireLease(t.Context(), stack, holder("intruder"), ttl)
	if held, ok := errors.AsType[*cluster.LeaseHeldError](err); !ok || held.Holder != l.Holder {
		t.Errorf("taking a kept lease = %v, want a *LeaseHeldError naming %s", err, l.Holder)
	}
	if !l.Expires().After(firstExpiry) {
		t.Errorf("expiry %s did not move past the first one %s", l.Expires(), firstExpiry)
	}
	if held.Err() != nil {
		t.Errorf("the held context ended: %v", context.Cause(held))
	}
	stop()
	if err := l.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseKeepReportsLoss(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	stack := swarmtest.Stack(t)
	ttl := time.Second

	l, err := d.AcquireLease(t.Context(), stack, holder("sleeper"), ttl)
	if err != nil {
		t.Fatal(err)
	}
	// The holder stalls past its expiry (it renews nothing) and another
	// takes over; the renewals it then starts find out.
	swarmtest.Eventually(t, 10*time.Second, func() (bool, string, error) {
		return time.Now().After(l.Expires()), "lease not expired yet", nil
	})
	other, err := d.AcquireLease(t.Context(), stack, holder("other"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	held, stop := l.Keep(t.Context())
	defer stop()
	select {
	case <-held.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the held context did not end after the lease was taken over")
	}
	lost, ok := errors.AsType[*cluster.LeaseLostError](context.Cause(held))
	if !ok || lost.Holder == nil || *lost.Holder != other.Holder {
		t.Errorf("cause = %v, want a *LeaseLostError naming %s", context.Cause(held), other.Holder)
	}
	if err := other.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseRefusesAnObjectItDidNotMake(t *testing.T) {
	t.Parallel()
	d := cluster.NewFromClient(swarmtest.Client(t))
	api := swarmtest.Client(t)
	for name, spec := range map[string]swarm.ConfigSpec{
		"unlabelled": {Data: []byte(`{"stack":"x"}`)},
		"another stack's data": {Annotations: swarm.Annotations{Labels: map[string]string{
			cluster.LabelManaged: "true"}}, Data: []byte(`{"stack":"another"}`)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stack := swarmtest.Stack(t)
			spec.Name = cluster.LeaseName(stack)
			if spec.Labels != nil {
				spec.Labels = map[string]string{cluster.LabelManaged: "true", cluster.LabelLease: stack}
			}
			resp, err := api.ConfigCreate(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { api.ConfigRemove(context.Background(), resp.ID) })
			_, err = d.AcquireLease(t.Context(), stack, holder("x"), time.Minute)
			if err == nil {
				t.Fatal("took a lease over an object Flotilla did not make")
			}
			if _, held := errors.AsType[*cluster.LeaseHeldError](err); held {
				t.Errorf("error = %v, want one saying the object is not a lease", err)
			}
			t.Log(err)
		})
	}
}

func TestLeaseName(t *testing.T) {
	long := "a-stack-name-that-is-far-too-long-to-fit-in-one-docker-object-name"
	for _, stack := range []string{"shop", long, "odd/name"} {
		name := cluster.LeaseName(stack)
		if len(name) > 64 {
			t.Errorf("LeaseName(%q) = %q: %d characters", stack, name, len(name))
		}
	}
	if cluster.LeaseName("shop") != "flotilla.lease.shop" {
		t.Errorf("LeaseName(shop) = %q", cluster.LeaseName("shop"))
	}
	if cluster.LeaseName(long) == cluster.LeaseName(long+"2") {
		t.Error("two long stack names share a lease name")
	}
}
