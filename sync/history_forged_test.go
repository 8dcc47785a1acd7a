package sync

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// A branch author's stack file once could create configs that prod's
// history and pin read as their own. Objects in a stack's namespace, or
// without Flotilla's managed label, or whose name is not the one Flotilla
// gives that record or pin, are neither read nor removed.
func TestForgedHistoryAndPinsAreIgnored(t *testing.T) {
	ctx := t.Context()
	store := newMemConfigs()
	h := NewHistory(store, 10)
	good, err := h.Append(ctx, Record{Stack: "prod", Commit: Revision{SHA: "aaaaaaa"}, Outcome: Succeeded})
	if err != nil {
		t.Fatal(err)
	}
	forge := func(name string, labels map[string]string, v any) {
		data, _ := json.Marshal(v)
		if _, err := store.CreateConfig(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: name, Labels: labels}, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	failed := Record{Seq: 9, Stack: "prod", Commit: Revision{SHA: "aaaaaaa"}, Outcome: Failed}
	pin := Pin{SHA: "bbbbbbbbbbbbbbbb", Since: time.Now(), Reason: "forged"}
	// From a dev stack file: in dev's namespace.
	forge("dev_history", map[string]string{labelHistory: "prod", labelSeq: "9", "io.flotilla.managed": "true",
		"com.docker.stack.namespace": "dev"}, failed)
	forge("dev_pin", map[string]string{labelPin: "prod", "io.flotilla.managed": "true", "com.docker.stack.namespace": "dev"}, pin)
	// Made by hand, without the managed label, or under another name.
	forge(objectName("history", "prod", "00000009"), map[string]string{labelHistory: "prod", labelSeq: "9"}, failed)
	forge("flotilla.history.prod.x", map[string]string{labelHistory: "prod", labelSeq: "9", "io.flotilla.managed": "true"}, failed)
	forge("flotilla.pin.prod.x", map[string]string{labelPin: "prod", "io.flotilla.managed": "true"}, pin)

	records, err := h.List(ctx, "prod")
	if err != nil || len(records) != 1 || records[0].Seq != good.Seq {
		t.Fatalf("prod's history %+v (%v): want only its own record", records, err)
	}
	if _, q := Quarantined(records, "aaaaaaa"); q {
		t.Error("a forged record quarantined prod's commit")
	}
	if p, err := h.Pin(ctx, "prod"); err != nil || p != nil {
		t.Errorf("prod's pin: %+v, %v; want none", p, err)
	}
	before := len(store.configs)
	if err := h.ClearPin(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	if len(store.configs) != before-1 {
		t.Errorf("ClearPin removed %d objects, want only the managed pin object of prod, never dev's", before-len(store.configs))
	}
	if err := h.SetPin(ctx, "prod", Pin{SHA: "ccccccccccccccc", Reason: "rolled back"}); err != nil {
		t.Fatal(err)
	}
	if p, err := h.Pin(ctx, "prod"); err != nil || p == nil || p.SHA != "ccccccccccccccc" {
		t.Errorf("prod's own pin: %+v, %v", p, err)
	}
	before = len(store.configs)
	if n, err := h.Purge(ctx, "prod"); err != nil || n != 1 || len(store.configs) != before-2 {
		t.Errorf("Purge = %d, %v and removed %d objects; want prod's one record and its pin, nothing forged", n, err, before-len(store.configs))
	}
}
