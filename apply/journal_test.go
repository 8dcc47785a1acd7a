package apply

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/secrets"
	"github.com/flotilla-gitops/flotilla/stack"
)

// memStore keeps configs in memory, as the engine would: names unique,
// labels filtered by "key=value".
type memStore struct {
	mu      gosync.Mutex
	configs map[string]swarm.Config
	n       int
}

func newMemStore() *memStore { return &memStore{configs: map[string]swarm.Config{}} }

func (m *memStore) CreateConfig(_ context.Context, spec swarm.ConfigSpec) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.configs {
		if c.Spec.Name == spec.Name {
			return "", fmt.Errorf("config %s already exists", spec.Name)
		}
	}
	m.n++
	id := fmt.Sprintf("cfg%d", m.n)
	m.configs[id] = swarm.Config{ID: id, Spec: spec}
	return id, nil
}

func (m *memStore) RemoveConfig(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.configs, id)
	return nil
}

func (m *memStore) ConfigsByLabel(_ context.Context, label string) ([]swarm.Config, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, v, _ := strings.Cut(label, "=")
	var out []swarm.Config
	for _, c := range m.configs {
		if c.Spec.Labels[k] == v {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memStore) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, c := range m.configs {
		out = append(out, c.Spec.Name)
	}
	slices.Sort(out)
	return out
}

func testJournal(stack string) Journal {
	return Journal{Stack: stack, Writer: "flotilla test (pid 1 on here)", WriterID: "w1",
		Target:  Target{Environment: "dev", Commit: "0123456789abcdef", Ref: "refs/heads/main", PlanDigest: "sha256:00"},
		Started: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func TestJournalIsRewrittenAsTheDeployGoes(t *testing.T) {
	ctx := t.Context()
	store := newMemStore()
	h, err := OpenJournal(ctx, store, testJournal("shop"))
	if err != nil {
		t.Fatal(err)
	}
	prev := svcSpec("shop_api", "app:v1", 2)
	if err := h.Started(ctx, []JournalService{{ID: "s1", Name: "shop_api", Version: 7, Previous: prev, SpecHash: "h2"}},
		[]JournalObject{{Kind: diff.KindSecret, Name: "shop_pw_v2"}, {Kind: diff.KindService, Name: "shop_worker"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Created(ctx, JournalObject{Kind: diff.KindSecret, Name: "shop_pw_v2", ID: "sec9"}); err != nil {
		t.Fatal(err)
	}
	// Only the newest version of the journal is kept.
	if got := store.names(); !slices.Equal(got, []string{"flotilla.journal.shop.000003"}) {
		t.Errorf("journal objects = %v, want only the third write", got)
	}
	found, err := FindJournal(ctx, store, "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := testJournal("shop")
	want.Services = []JournalService{{ID: "s1", Name: "shop_api", Version: 7, Previous: prev, SpecHash: "h2"}}
	want.Creates = []JournalObject{{Kind: diff.KindSecret, Name: "shop_pw_v2", ID: "sec9"}, {Kind: diff.KindService, Name: "shop_worker"}}
	if d := cmp.Diff(&want, found); d != "" {
		t.Errorf("FindJournal (-want +got):\n%s", d)
	}

	// A second deploy can't start while this journal is open.
	_, err = OpenJournal(ctx, store, testJournal("shop"))
	if open, ok := errors.AsType[*OpenJournalError](err); !ok || open.Journal.Writer != want.Writer {
		t.Errorf("OpenJournal over an open one = %v, want an *OpenJournalError naming %s", err, want.Writer)
	}
	// Another stack's journal is another matter.
	other, err := OpenJournal(ctx, store, testJournal("shop2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if j, err := FindJournal(ctx, store, "shop"); j != nil || err != nil {
		t.Errorf("after Close FindJournal = %v, %v; want nothing", j, err)
	}
	if j, err := FindJournal(ctx, store, "shop2"); j == nil || err != nil {
		t.Errorf("closing shop's journal touched shop2's: %v, %v", j, err)
	}
	if err := other.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if left := store.names(); len(left) != 0 {
		t.Errorf("objects left: %v", left)
	}
}

func TestJournalFindTakesTheNewestAndSkipsOthers(t *testing.T) {
	ctx := t.Context()
	store := newMemStore()
	put := func(name, stackLabel, seq string, data []byte) {
		t.Helper()
		labels := map[string]string{cluster.LabelManaged: "true", cluster.LabelJournal: stackLabel, labelJournalSeq: seq}
		if _, err := store.CreateConfig(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: name, Labels: labels}, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	older, newer := testJournal("shop"), testJournal("shop")
	older.Writer, newer.Writer = "older", "newer"
	olderData, _ := encodeJournal(older)
	newerData, _ := encodeJournal(newer)
	// A writer killed between writing seq 5 and removing seq 4.
	put("flotilla.journal.shop.000004", "shop", "4", olderData)
	put("flotilla.journal.shop.000005", "shop", "5", newerData)
	// Labelled for the stack, but not named as its journal: not ours.
	put("someone.elses", "shop", "9", []byte("not json"))
	j, err := FindJournal(ctx, store, "shop")
	if err != nil || j == nil || j.Writer != "newer" {
		t.Fatalf("FindJournal = %+v, %v; want the newer journal", j, err)
	}
	if err := RemoveJournal(ctx, store, "shop"); err != nil {
		t.Fatal(err)
	}
	if got := store.names(); !slices.Equal(got, []string{"someone.elses"}) {
		t.Errorf("after RemoveJournal: %v, want only the foreign object", got)
	}

	// An unreadable journal is an error naming its object.
	put("flotilla.journal.shop.000006", "shop", "6", []byte("{truncated"))
	_, err = FindJournal(ctx, store, "shop")
	if err == nil || !strings.Contains(err.Error(), "flotilla.journal.shop.000006") {
		t.Errorf("FindJournal of a malformed journal = %v, want an error naming the object", err)
	}
}

func TestJournalCompressesBigSpecsAndRefusesTooBig(t *testing.T) {
	ctx := t.Context()
	store := newMemStore()
	j := testJournal("shop")
	spec := svcSpec("shop_api", "app:v1", 1)
	// 300 KB of environment that compresses well.
	for i := range 3000 {
		spec.TaskTemplate.ContainerSpec.Env = append(spec.TaskTemplate.ContainerSpec.Env, fmt.Sprintf("VAR_%04d=%s", i, strings.Repeat("x", 90)))
	}
	j.Services = []JournalService{{ID: "s1", Name: "shop_api", Previous: spec}}
	h, err := OpenJournal(ctx, store, j)
	if err != nil {
		t.Fatal(err)
	}
	cfgs, _ := store.ConfigsByLabel(ctx, cluster.LabelJournal+"=shop")
	if len(cfgs) != 1 || len(cfgs[0].Spec.Data) > 100<<10 || cfgs[0].Spec.Data[0] != 0x1f {
		t.Fatalf("stored %d objects of %d bytes, want one gzipped well below 100 KiB", len(cfgs), len(cfgs[0].Spec.Data))
	}
	found, err := FindJournal(ctx, store, "shop")
	if err != nil || len(found.Services) != 1 || len(found.Services[0].Previous.TaskTemplate.ContainerSpec.Env) != 3000 {
		t.Fatalf("FindJournal of a gzipped journal = %v", err)
	}
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// 2.4 MB of hex digits: 1.2 MB compressed.
	noise := make([]byte, 1_200_000)
	rand.Read(noise)
	big := testJournal("shop")
	spec = svcSpec("shop_api", "app:v1", 1)
	spec.Labels["noise"] = fmt.Sprintf("%x", noise)
	big.Services = []JournalService{{ID: "s1", Name: "shop_api", Previous: spec}}
	_, err = OpenJournal(ctx, store, big)
	if tooBig, ok := errors.AsType[*JournalTooLargeError](err); !ok || tooBig.Stack != "shop" {
		t.Errorf("OpenJournal of 2.4 MB = %v, want a *JournalTooLargeError", err)
	}
	if left := store.names(); len(left) != 0 {
		t.Errorf("a journal too big left objects: %v", left)
	}
}

// recordingJournal puts its calls among the fake cluster's, to check their
// order, and can fail one.
type recordingJournal struct {
	f        *fakeCluster
	failOn   string
	services []JournalService
	creates  []JournalObject
}

func (r *recordingJournal) Started(_ context.Context, services []JournalService, creates []JournalObject) error {
	r.services, r.creates = services, creates
	r.f.record("journal started")
	if r.failOn == "started" {
		return errors.New("engine unreachable")
	}
	return nil
}

func (r *recordingJournal) Created(_ context.Context, o JournalObject) error {
	r.f.record("journal created %s %s id=%t", o.Kind, o.Name, o.ID != "")
	if r.failOn == string(o.Kind) {
		return errors.New("engine unreachable")
	}
	return nil
}

func (r *recordingJournal) Reread(_ context.Context, s JournalService) error {
	r.f.record("journal reread %s", s.Name)
	return nil
}

func journalPlanFixture(f *fakeCluster) diff.Plan {
	return diff.Plan{Stack: "shop", Changes: []diff.Change{
		{Kind: diff.KindNetwork, Name: "shop_default", Action: diff.ActionCreate, Network: &stack.Network{Name: "shop_default"}},
		{Kind: diff.KindSecret, Name: "shop_pw", Action: diff.ActionCreate, Secret: &stack.Secret{Name: "shop_pw", Data: secrets.NewValue([]byte("pw"))}},
		existing(f, "shop_api", "app:v1", "app:v2", 0),
	}}
}

func TestRunJournalsBeforeItsFirstWrite(t *testing.T) {
	f := newFake()
	plan := journalPlanFixture(f)
	j := &recordingJournal{f: f}
	o := fast
	o.Journal = j
	if _, err := Run(t.Context(), f, plan, o); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"journal started",
		"create network shop_default",
		"journal created network shop_default id=true",
		"create secret shop_pw",
		"journal created secret shop_pw id=true",
		"update service shop_api@1 force=0 image=app:v2",
	}
	if d := cmp.Diff(want, f.writes()); d != "" {
		t.Errorf("writes (-want +got):\n%s", d)
	}
	live := plan.Changes[2].Live
	wantServices := []JournalService{{ID: live.ID, Name: "shop_api", Version: 1, Previous: *live.Spec, SpecHash: "shop_apiapp:v2"}}
	if d := cmp.Diff(wantServices, j.services); d != "" {
		t.Errorf("Started services (-want +got):\n%s", d)
	}
	wantCreates := []JournalObject{{Kind: diff.KindNetwork, Name: "shop_default"}, {Kind: diff.KindSecret, Name: "shop_pw"}}
	if d := cmp.Diff(wantCreates, j.creates); d != "" {
		t.Errorf("Started creates (-want +got):\n%s", d)
	}
}

func TestRunStopsWhenItsJournalFails(t *testing.T) {
	t.Run("before the first write", func(t *testing.T) {
		f := newFake()
		o := fast
		o.Journal = &recordingJournal{f: f, failOn: "started"}
		_, err := Run(t.Context(), f, journalPlanFixture(f), o)
		if err == nil {
			t.Fatal("Run went on without its journal")
		}
		if w := f.writes(); !slices.Equal(w, []string{"journal started"}) {
			t.Errorf("writes = %v, want none after the journal failed", w)
		}
	})
	t.Run("after a create", func(t *testing.T) {
		f := newFake()
		o := fast
		o.Journal = &recordingJournal{f: f, failOn: "secret"}
		_, err := Run(t.Context(), f, journalPlanFixture(f), o)
		fe, ok := errors.AsType[*FailedError](err)
		if !ok || fe.Kind != FailureRolledBack {
			t.Fatalf("Run = %v, want a rolled-back *FailedError", err)
		}
		w := f.writes()
		if slices.ContainsFunc(w, func(s string) bool { return strings.HasPrefix(s, "update service") }) {
			t.Errorf("services were updated after the journal fell behind: %v", w)
		}
		if !slices.Contains(w, "remove secret sec3") || !slices.Contains(w, "remove network net2") {
			t.Errorf("the created objects were not rolled back: %v", w)
		}
	})
}
