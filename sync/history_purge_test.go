package sync

import (
	"testing"
	"time"
)

// Purge removes one stack's records and pin, and nothing of another's.
func TestHistoryPurge(t *testing.T) {
	store := newMemConfigs()
	h := NewHistory(store, 10)
	ctx := t.Context()
	for _, sha := range []string{"a1", "b2", "c3"} {
		if _, err := h.Append(ctx, record(Succeeded, sha)); err != nil {
			t.Fatal(err)
		}
	}
	other := record(Succeeded, "d4")
	other.Stack = "shop-prod"
	if _, err := h.Append(ctx, other); err != nil {
		t.Fatal(err)
	}
	for _, stack := range []string{"shop", "shop-prod"} {
		if err := h.SetPin(ctx, stack, Pin{SHA: "a1", Since: time.Now(), Reason: "rolled back"}); err != nil {
			t.Fatal(err)
		}
	}

	n, err := h.Purge(ctx, "shop")
	if err != nil || n != 3 {
		t.Fatalf("Purge = %d, %v; want 3 records removed", n, err)
	}
	if records, err := h.List(ctx, "shop"); err != nil || len(records) != 0 {
		t.Errorf("after Purge: %d records, %v", len(records), err)
	}
	if pin, err := h.Pin(ctx, "shop"); err != nil || pin != nil {
		t.Errorf("after Purge the pin is %+v, %v", pin, err)
	}
	if records, _ := h.List(ctx, "shop-prod"); len(records) != 1 {
		t.Errorf("another stack's history lost records: %d left", len(records))
	}
	if pin, _ := h.Pin(ctx, "shop-prod"); pin == nil {
		t.Error("another stack's pin went")
	}
	if n, err := h.Purge(ctx, "shop"); err != nil || n != 0 {
		t.Errorf("a second Purge = %d, %v; want 0, nil", n, err)
	}
}
