package sync

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"unicode/utf8"

	"github.com/docker/docker/api/types/swarm"
)

// memConfigs is a configStore in memory: names unique, labels filtered by
// "key=value", data kept as given.
type memConfigs struct {
	mu      gosync.Mutex
	configs map[string]swarm.Config
	n       int
}

func newMemConfigs() *memConfigs { return &memConfigs{configs: map[string]swarm.Config{}} }

func (m *memConfigs) CreateConfig(_ context.Context, spec swarm.ConfigSpec) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.configs {
		if c.Spec.Name == spec.Name {
			return "", fmt.Errorf("rpc error: code = AlreadyExists desc = config %s already exists", spec.Name)
		}
	}
	m.n++
	id := fmt.Sprintf("cfg%d", m.n)
	m.configs[id] = swarm.Config{ID: id, Spec: spec}
	return id, nil
}

func (m *memConfigs) RemoveConfig(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.configs, id)
	return nil
}

func (m *memConfigs) ConfigsByLabel(_ context.Context, label string) ([]swarm.Config, error) {
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

func (m *memConfigs) largest() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.configs {
		n = max(n, len(c.Spec.Data))
	}
	return n
}

func record(outcome Outcome, sha string) Record {
	return Record{Environment: "dev", Stack: "shop", Commit: Revision{SHA: sha}, Outcome: outcome}
}

func TestHistoryRecordsAreBounded(t *testing.T) {
	store := newMemConfigs()
	h := NewHistory(store, 10)
	r := record(RolledBack, "abc")
	r.Commit.Message = strings.Repeat("Ünïcödé commit message line\n", 20000) // 600 KB
	r.Commit.Subject = strings.Repeat("s", 5000)
	r.Commit.AuthorName = strings.Repeat("ä", 2000)
	r.Plan = strings.Repeat("p", 50000)
	r.Error = strings.Repeat("e", 900_000)
	for i := range 5000 {
		r.Changes = append(r.Changes, fmt.Sprintf("update service shop_s%04d %s", i, strings.Repeat("x", 500)))
	}
	changes := slices.Clone(r.Changes)
	saved, err := h.Append(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if n := store.largest(); n > maxRecordSize {
		t.Errorf("stored a record of %d bytes, more than %d", n, maxRecordSize)
	}
	for name, v := range map[string]string{"message": saved.Commit.Message, "subject": saved.Commit.Subject,
		"author": saved.Commit.AuthorName, "plan": saved.Plan, "error": saved.Error} {
		if !strings.HasSuffix(v, "… (cut)") || !utf8.ValidString(v) {
			t.Errorf("%s is not cut cleanly: …%q", name, v[max(0, len(v)-20):])
		}
	}
	if n := len(saved.Changes); n != maxChanges || saved.Changes[n-1] != "… and 4901 more changes" {
		t.Errorf("%d change lines ending %q, want %d ending with how many more", n, saved.Changes[n-1], maxChanges)
	}
	if !slices.Equal(r.Changes, changes) {
		t.Error("Append changed the caller's change list")
	}
	records, err := h.List(t.Context(), "shop")
	if err != nil || len(records) != 1 || records[0].Error != saved.Error {
		t.Errorf("List = %d records, %v; want the cut record back", len(records), err)
	}
}

func TestHistoryPruningKeepsTheLastGoodDeploys(t *testing.T) {
	store := newMemConfigs()
	h := NewHistory(store, 4)
	ctx := t.Context()
	// Seven good deploys, then a long outage of failures.
	for i := range 7 {
		if _, err := h.Append(ctx, record(Succeeded, fmt.Sprintf("good%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		if _, err := h.Append(ctx, record(Failed, fmt.Sprintf("bad%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	records, err := h.List(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range records {
		got = append(got, r.Commit.SHA)
	}
	want := []string{"good2", "good3", "good4", "good5", "good6", "bad16", "bad17", "bad18", "bad19"}
	if !slices.Equal(got, want) {
		t.Errorf("history after pruning = %v\nwant the last %d good deploys and the last 4 records: %v", got, keepSucceeded, want)
	}
	// With successes among the newest records, fewer old ones are kept.
	for _, o := range []Outcome{Succeeded, Succeeded, Failed, Failed} {
		if _, err := h.Append(ctx, record(o, "new-"+string(o))); err != nil {
			t.Fatal(err)
		}
	}
	records, _ = h.List(ctx, "shop")
	good := 0
	for _, r := range records {
		if !r.Failed() {
			good++
		}
	}
	if good != keepSucceeded || len(records) != keepSucceeded+2 {
		t.Errorf("%d records, %d good; want %d good and 2 failures", len(records), good, keepSucceeded)
	}
}

func TestHistorySkipsAnUnreadableRecord(t *testing.T) {
	store := newMemConfigs()
	var logs bytes.Buffer
	h := NewHistory(store, 10)
	h.Log = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := t.Context()
	if _, err := h.Append(ctx, record(Succeeded, "one")); err != nil {
		t.Fatal(err)
	}
	// A record cut short, with the next sequence number.
	store.CreateConfig(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: objectName("history", "shop", "00000002"),
		Labels: map[string]string{labelHistory: "shop", labelSeq: "2"}}, Data: []byte(`{"seq":2,"stack":"sh`)})
	saved, err := h.Append(ctx, record(Succeeded, "three"))
	if err != nil {
		t.Fatalf("appending after an unreadable record: %v", err)
	}
	if saved.Seq != 3 {
		t.Errorf("new record has seq %d, want 3 (after the unreadable one)", saved.Seq)
	}
	records, err := h.List(ctx, "shop")
	if err != nil {
		t.Fatalf("List failed on one bad record: %v", err)
	}
	if len(records) != 2 || records[0].Commit.SHA != "one" || records[1].Commit.SHA != "three" {
		t.Errorf("List = %+v, want the two readable records", records)
	}
	if !strings.Contains(logs.String(), "skipping an unreadable history record") || !strings.Contains(logs.String(), "flotilla.history.shop.00000002") {
		t.Errorf("no warning naming the bad record; logs:\n%s", logs.String())
	}
}
