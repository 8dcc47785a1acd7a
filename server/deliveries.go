package server

import (
	"net/http"
	gosync "sync"

	"github.com/flotilla-gitops/flotilla/environments"
)

// maxDeliveries is how many webhook delivery IDs the server remembers.
// Forges retry within minutes; a few thousand IDs (under 200 KiB) cover far
// more than that at any push rate a forge allows.
const maxDeliveries = 4096

// deliveries remembers the IDs of the webhook deliveries already acted on,
// the oldest forgotten first, so a replayed or retried delivery starts no
// second pass.
type deliveries struct {
	mu   gosync.Mutex
	seen map[string]bool // true: done; false: in progress
	ring []string
	next int
}

func newDeliveries(capacity int) *deliveries {
	return &deliveries{seen: map[string]bool{}, ring: make([]string, capacity)}
}

// reserve claims id; false means it was already handled or is being so.
func (d *deliveries) reserve(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.seen[id]; ok {
		return false
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.seen, old)
	}
	d.ring[d.next] = id
	d.next = (d.next + 1) % len(d.ring)
	d.seen[id] = false
	return true
}

// release forgets a reserved id whose delivery failed, so the forge's
// retry is acted on.
func (d *deliveries) release(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if done, ok := d.seen[id]; ok && !done {
		delete(d.seen, id)
		for i, r := range d.ring {
			if r == id {
				d.ring[i] = ""
			}
		}
	}
}

// done marks a reserved id handled.
func (d *deliveries) done(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.seen[id]; ok {
		d.seen[id] = true
	}
}

// deliveryID is the forge's ID of one delivery, the same on its retries and
// redeliveries; "" when the request has none.
func deliveryID(kind environments.WebhookKind, h http.Header) string {
	var id string
	switch kind {
	case environments.GitHub:
		id = h.Get("X-GitHub-Delivery")
	case environments.Gitea:
		id = h.Get("X-Gitea-Delivery")
	case environments.GitLab:
		// Idempotency-Key stays the same on GitLab's retries; the event
		// UUID is what older versions send.
		if id = h.Get("Idempotency-Key"); id == "" {
			id = h.Get("X-Gitlab-Event-UUID")
		}
	case environments.Generic:
		if id = h.Get("X-Flotilla-Delivery"); id == "" {
			id = h.Get("Idempotency-Key")
		}
	}
	if id == "" || len(id) > 200 {
		return ""
	}
	return string(kind) + " " + id
}
