package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
	"github.com/flotilla-gitops/flotilla/diff"
)

// Trigger says what started a pass.
type Trigger string

const (
	TriggerManual   Trigger = "manual"
	TriggerSchedule Trigger = "schedule"
	TriggerWebhook  Trigger = "webhook"
	TriggerRollback Trigger = "rollback"
	// TriggerResume: the pass that follows lifting a pin.
	TriggerResume Trigger = "resume"
	// TriggerConfig: the environment's configuration changed under the
	// deployed commit (variables, files, identities, policy…).
	TriggerConfig Trigger = "config"
	// TriggerImage: a tag the stack uses moved to a new digest
	// (watchImages).
	TriggerImage Trigger = "image"
	// TriggerRecovery: a deploy whose writer died, finished or undone by
	// the next writer from its journal.
	TriggerRecovery Trigger = "recovery"
)

// Outcome is how a recorded pass ended.
type Outcome string

const (
	Succeeded Outcome = "succeeded"
	// RolledBack: the deploy failed and the stack went back to its
	// previous specs.
	RolledBack Outcome = "failed and rolled back"
	// Paused: the deploy failed and was left as it was (onFailure: pause).
	Paused Outcome = "failed and paused"
	// RollbackFailed: the deploy failed and so did its rollback: the
	// stack is somewhere between the two commits.
	RollbackFailed Outcome = "failed, rollback failed"
	// Interrupted: the deploy was cut short (shutdown past its grace,
	// Ctrl-C) before it converged or failed; nothing was rolled back.
	Interrupted Outcome = "interrupted"
	// Failed: nothing was applied — the commit did not render, or the
	// engine refused the plan before anything changed.
	Failed Outcome = "failed"
)

// Record is one pass in an environment's history. Records live in the
// cluster, so every Flotilla process sees the same history.
type Record struct {
	Seq         int64     `json:"seq"`
	Environment string    `json:"environment"`
	Stack       string    `json:"stack"`
	Commit      Revision  `json:"commit"`
	Trigger     Trigger   `json:"trigger"`
	Plan        string    `json:"plan"` // the plan's summary line
	Changes     []string  `json:"changes,omitempty"`
	Outcome     Outcome   `json:"outcome"`
	Error       string    `json:"error,omitempty"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	// LastGood is the last commit that deployed successfully, this one
	// included when it did.
	LastGood string `json:"lastGood,omitempty"`
	// Images are the digests a deploy triggered by moved tags applied
	// (image → digest): a digest whose deploy failed is not applied again
	// until its tag moves again or Git changes.
	Images map[string]string `json:"images,omitempty"`
	// Config fingerprints the environment's configuration the pass
	// deployed with (see configDigest).
	Config string `json:"config,omitempty"`
}

// Failed reports whether the pass failed.
func (r Record) Failed() bool { return r.Outcome != Succeeded }

// Quarantines reports whether the failure is the commit's own, so that it
// is not applied again automatically. An interrupted deploy is not: the
// next writer finishes or undoes it and the commit is tried again.
func (r Record) Quarantines() bool { return r.Failed() && r.Outcome != Interrupted }

// Labels of the Docker configs that hold history and pins. They carry no
// stack label, so no stack's plan ever sees or prunes them.
const (
	labelHistory = "io.flotilla.history"
	labelSeq     = "io.flotilla.history.seq"
	labelPin     = "io.flotilla.pin"
	// A Docker config holds at most 1000 KiB; a record is kept well below
	// that, whatever the commit message, the plan or the error.
	maxErrorLen   = 8 << 10
	maxMessageLen = 4 << 10
	maxFieldLen   = 256 // names, subject, one change line
	maxPlanLen    = 1 << 10
	maxChanges    = 100
	maxRecordSize = 64 << 10
	// keepSucceeded is how many successful deploys pruning always keeps,
	// however many failures came after them: the way back to a good commit.
	keepSucceeded = 5
)

// configStore is what history needs from the cluster.
type configStore interface {
	CreateConfig(ctx context.Context, spec swarm.ConfigSpec) (string, error)
	RemoveConfig(ctx context.Context, id string) error
	ConfigsByLabel(ctx context.Context, label string) ([]swarm.Config, error)
}

// History is the deploy history of the environments on one cluster, kept as
// small Docker configs (one per record, as Helm keeps releases in the
// cluster), plus each environment's pin. Both are keyed by stack name, which
// is unique on a cluster, so two operators (or two configurations naming
// an environment "dev") never mix their histories.
type History struct {
	store configStore
	limit int
	// Log, when set, is told of records that can't be read; they are
	// skipped.
	Log *slog.Logger
}

// NewHistory keeps up to limit records per environment.
func NewHistory(store configStore, limit int) *History {
	return &History{store: store, limit: limit}
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)

// objectName makes a config name (at most 64 characters of
// [a-zA-Z0-9-_.]) for key; long or odd names get a hash to stay distinct.
func objectName(kind, key, suffix string) string {
	clean := unsafeName.ReplaceAllString(key, "-")
	room := 64 - len("flotilla."+kind+".."+suffix)
	if clean != key || len(clean) > room {
		sum := sha256.Sum256([]byte(key))
		h := hex.EncodeToString(sum[:4])
		clean = clean[:min(len(clean), room-9)] + "-" + h
	}
	return "flotilla." + kind + "." + clean + "." + suffix
}

// List returns the records of stack, oldest first. A record that can't be
// read is skipped (and logged): one bad object must not hide the history.
func (h *History) List(ctx context.Context, stack string) ([]Record, error) {
	records, _, err := h.list(ctx, stack)
	return records, err
}

// list also returns the highest sequence number in use, unreadable records
// included, for the next record to take the one after.
func (h *History) list(ctx context.Context, stack string) ([]Record, int64, error) {
	configs, err := h.store.ConfigsByLabel(ctx, labelHistory+"="+stack)
	if err != nil {
		return nil, 0, fmt.Errorf("reading history of stack %s: %w", stack, err)
	}
	records := make([]Record, 0, len(configs))
	var maxSeq int64
	for _, c := range configs {
		if seq, err := strconv.ParseInt(c.Spec.Labels[labelSeq], 10, 64); err == nil {
			maxSeq = max(maxSeq, seq)
		}
		var r Record
		err := ours(c)
		if err == nil {
			err = json.Unmarshal(c.Spec.Data, &r)
		}
		if err == nil && r.Stack != stack {
			err = fmt.Errorf("it is a record of stack %q", r.Stack)
		}
		if err == nil && c.Spec.Name != objectName("history", stack, fmt.Sprintf("%08d", r.Seq)) {
			err = fmt.Errorf("its name is not record %d's of %s", r.Seq, stack)
		}
		if err != nil {
			if h.Log != nil {
				h.Log.Warn("skipping an unreadable history record", "stack", stack, "config", c.Spec.Name, "err", err)
			}
			continue
		}
		maxSeq = max(maxSeq, r.Seq)
		records = append(records, r)
	}
	sort.Slice(records, func(i, j int) bool { return records[i].Seq < records[j].Seq })
	return records, maxSeq, nil
}

// Append stores r as its stack's next record and prunes the oldest beyond the
// limit. Two processes appending at once both succeed: the loser of a name
// takes the next sequence number.
func (h *History) Append(ctx context.Context, r Record) (Record, error) {
	records, maxSeq, err := h.list(ctx, r.Stack)
	if err != nil {
		return r, err
	}
	r = bounded(r)
	r.Seq = maxSeq + 1
	for attempt := 0; ; attempt++ {
		data, err := json.Marshal(r)
		if err != nil {
			return r, fmt.Errorf("encoding history record: %w", err)
		}
		if len(data) > maxRecordSize {
			return r, fmt.Errorf("recording history of %s: the record is %d bytes, more than %d even cut", r.Stack, len(data), maxRecordSize)
		}
		seq := strconv.FormatInt(r.Seq, 10)
		_, err = h.store.CreateConfig(ctx, swarm.ConfigSpec{
			Annotations: swarm.Annotations{
				Name:   objectName("history", r.Stack, fmt.Sprintf("%08d", r.Seq)),
				Labels: map[string]string{labelHistory: r.Stack, labelSeq: seq, "io.flotilla.managed": "true"},
			},
			Data: data,
		})
		if err == nil {
			break
		}
		if !cluster.IsConflict(err) || attempt == 5 {
			return r, fmt.Errorf("recording history of %s: %w", r.Stack, err)
		}
		r.Seq++
	}
	records = append(records, r)
	if old := prunable(records, h.limit); len(old) > 0 {
		if err := h.prune(ctx, r.Stack, old); err != nil {
			return r, err
		}
	}
	return r, nil
}

// prunable picks the records (oldest first) that go beyond limit, sparing
// the newest keepSucceeded successful deploys: a run of failures never
// pushes the last good commits out of the history.
func prunable(records []Record, limit int) []Record {
	if limit <= 0 || len(records) <= limit {
		return nil
	}
	keep := make(map[int64]bool, limit+keepSucceeded)
	good := 0
	for i := len(records) - 1; i >= 0; i-- {
		r := records[i]
		switch {
		case i >= len(records)-limit:
			keep[r.Seq] = true
		case !r.Failed() && good < keepSucceeded:
			keep[r.Seq] = true
		default:
			continue
		}
		if !r.Failed() {
			good++
		}
	}
	var old []Record
	for _, r := range records {
		if !keep[r.Seq] {
			old = append(old, r)
		}
	}
	return old
}

// bounded cuts what can grow without bound — the commit message, the plan,
// the change list, the error — so a record always fits in a config.
func bounded(r Record) Record {
	r.Error = cut(r.Error, maxErrorLen)
	r.Plan = cut(r.Plan, maxPlanLen)
	c := &r.Commit
	c.Message = cut(c.Message, maxMessageLen)
	c.Subject = cut(c.Subject, maxFieldLen)
	c.AuthorName = cut(c.AuthorName, maxFieldLen)
	c.AuthorEmail = cut(c.AuthorEmail, maxFieldLen)
	c.Ref = cut(c.Ref, maxFieldLen)
	c.Branch = cut(c.Branch, maxFieldLen)
	r.Changes = slices.Clone(r.Changes)
	if n := len(r.Changes); n > maxChanges {
		r.Changes = append(r.Changes[:maxChanges-1:maxChanges-1], fmt.Sprintf("… and %d more changes", n-maxChanges+1))
	}
	for i, line := range r.Changes {
		r.Changes[i] = cut(line, maxFieldLen)
	}
	return r
}

// cut shortens s to at most n bytes, at a character boundary, saying so.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "… (cut)"
	end := n - len(mark)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + mark
}

func (h *History) prune(ctx context.Context, stack string, old []Record) error {
	configs, err := h.store.ConfigsByLabel(ctx, labelHistory+"="+stack)
	if err != nil {
		return fmt.Errorf("pruning history of %s: %w", stack, err)
	}
	drop := map[string]bool{}
	for _, r := range old {
		drop[strconv.FormatInt(r.Seq, 10)] = true
	}
	var errs []error
	for _, c := range configs {
		if drop[c.Spec.Labels[labelSeq]] && ours(c) == nil && strings.HasPrefix(c.Spec.Name, "flotilla.history.") {
			if err := h.store.RemoveConfig(ctx, c.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("pruning history of %s: %w", stack, errors.Join(errs...))
	}
	return nil
}

// Purge removes every history record of stack, and its pin: deliberately,
// for `flotilla rm --purge-history` and `flotilla history --purge`. History
// otherwise outlives the stack. It returns how many records went.
func (h *History) Purge(ctx context.Context, stack string) (int, error) {
	configs, err := h.store.ConfigsByLabel(ctx, labelHistory+"="+stack)
	if err != nil {
		return 0, fmt.Errorf("purging history of %s: %w", stack, err)
	}
	var errs []error
	n := 0
	for _, c := range configs {
		// Only what Flotilla wrote as this stack's records, unreadable ones
		// included: nothing forged to look like one is removed.
		seq, err := strconv.ParseInt(c.Spec.Labels[labelSeq], 10, 64)
		if err != nil || ours(c) != nil || c.Spec.Name != objectName("history", stack, fmt.Sprintf("%08d", seq)) {
			continue
		}
		if err := h.store.RemoveConfig(ctx, c.ID); err != nil && !cluster.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if err := h.ClearPin(ctx, stack); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("purging history of %s: %w", stack, errors.Join(errs...))
	}
	return n, nil
}

// Pin holds an environment at a commit: automatic syncs leave it alone
// until `flotilla resume` or an explicit `flotilla sync`.
type Pin struct {
	SHA    string    `json:"sha"`
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
	// Repo and Ref are what the environment deployed from when pinned: a
	// pin is honoured only while they are the same.
	Repo string `json:"repo,omitempty"`
	Ref  string `json:"ref,omitempty"`
}

// Pin returns the pin of stack's environment, or nil.
func (h *History) Pin(ctx context.Context, stack string) (*Pin, error) {
	configs, err := h.store.ConfigsByLabel(ctx, labelPin+"="+stack)
	if err != nil {
		return nil, fmt.Errorf("reading the pin of %s: %w", stack, err)
	}
	for _, c := range configs {
		var p Pin
		err := ours(c)
		if err == nil {
			err = json.Unmarshal(c.Spec.Data, &p)
		}
		if err == nil && c.Spec.Name != objectName("pin", stack, p.SHA[:min(len(p.SHA), 12)]) {
			err = fmt.Errorf("its name is not the pin's of %s at %s", stack, shortSHA(p.SHA))
		}
		if err != nil {
			if h.Log != nil {
				h.Log.Warn("skipping a pin Flotilla did not write", "stack", stack, "config", c.Spec.Name, "err", err)
			}
			continue
		}
		return &p, nil
	}
	return nil, nil
}

// ours checks that c is an object Flotilla wrote for its history or pins:
// a stack file cannot forge one (its objects carry the stack's namespace,
// and a stack file may not set Flotilla's labels). Callers also check the
// object's exact name against its content, so that nothing else is read,
// pruned or removed as one.
func ours(c swarm.Config) error {
	switch {
	case c.Spec.Labels["io.flotilla.managed"] != "true":
		return errors.New("it is not labelled io.flotilla.managed")
	case c.Spec.Labels["com.docker.stack.namespace"] != "":
		return fmt.Errorf("it belongs to stack %s", c.Spec.Labels["com.docker.stack.namespace"])
	}
	return nil
}

// SetPin pins stack's environment, replacing an earlier pin.
func (h *History) SetPin(ctx context.Context, stack string, p Pin) error {
	if err := h.ClearPin(ctx, stack); err != nil {
		return err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = h.store.CreateConfig(ctx, swarm.ConfigSpec{
		Annotations: swarm.Annotations{Name: objectName("pin", stack, p.SHA[:min(len(p.SHA), 12)]),
			Labels: map[string]string{labelPin: stack, "io.flotilla.managed": "true"}},
		Data: data,
	})
	if err != nil {
		return fmt.Errorf("pinning %s: %w", stack, err)
	}
	return nil
}

// ClearPin removes the pin of stack's environment, if any.
func (h *History) ClearPin(ctx context.Context, stack string) error {
	configs, err := h.store.ConfigsByLabel(ctx, labelPin+"="+stack)
	if err != nil {
		return fmt.Errorf("reading the pin of %s: %w", stack, err)
	}
	for _, c := range configs {
		if ours(c) != nil || !strings.HasPrefix(c.Spec.Name, "flotilla.pin.") {
			continue // not ours to remove
		}
		if err := h.store.RemoveConfig(ctx, c.ID); err != nil {
			return fmt.Errorf("unpinning %s: %w", stack, err)
		}
	}
	return nil
}

// Quarantined reports whether sha's last deploy in records failed: such a
// commit is not applied again automatically.
func Quarantined(records []Record, sha string) (Record, bool) {
	for i := len(records) - 1; i >= 0; i-- {
		if records[i].Commit.SHA == sha {
			return records[i], records[i].Quarantines()
		}
	}
	return Record{}, false
}

// summaryLine is how a record remembers a plan.
func summaryLine(p diff.Plan) string { return p.Summary().String() }
