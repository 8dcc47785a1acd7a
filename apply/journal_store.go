package apply

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	gosync "sync"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/cluster"
)

// JournalStore keeps journals in the cluster; *cluster.Docker is one.
type JournalStore interface {
	CreateConfig(ctx context.Context, spec swarm.ConfigSpec) (string, error)
	RemoveConfig(ctx context.Context, id string) error
	ConfigsByLabel(ctx context.Context, label string) ([]swarm.Config, error)
}

// A journal is a Docker config flotilla.journal.STACK.SEQ. Configs can't
// change, so each update writes the next sequence number and then removes
// the one before; a reader takes the highest. Big journals (many large
// service specs) are gzipped; a config holds less than 1,024,000 bytes.
const (
	labelJournalSeq = "io.flotilla.journal.seq"
	maxJournalSize  = 1_000_000
	gzipAbove       = 64 << 10
)

// JournalTooLargeError says a journal does not fit in a config object even
// compressed. The deploy is not started.
type JournalTooLargeError struct {
	Stack string
	Size  int
}

func (e *JournalTooLargeError) Error() string {
	return fmt.Sprintf("the deploy journal of stack %s is %d bytes compressed, more than a Docker config holds (%d)", e.Stack, e.Size, maxJournalSize)
}

// JournalHandle is an open journal. It is the JournalWriter a Run is given.
type JournalHandle struct {
	store JournalStore
	mu    gosync.Mutex
	j     Journal
	seq   int
	id    string
}

var _ JournalWriter = (*JournalHandle)(nil)

// OpenJournal records j in the cluster, before the deploy's first write. A
// journal already open for the stack yields an *OpenJournalError.
func OpenJournal(ctx context.Context, store JournalStore, j Journal) (*JournalHandle, error) {
	open, err := FindJournal(ctx, store, j.Stack)
	if err != nil {
		return nil, err
	}
	if open != nil {
		return nil, &OpenJournalError{Journal: *open}
	}
	h := &JournalHandle{store: store, j: j}
	if err := h.write(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// Journal returns what the journal holds now.
func (h *JournalHandle) Journal() Journal {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.j
}

// Update changes the journal and writes it.
func (h *JournalHandle) Update(ctx context.Context, change func(*Journal)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	change(&h.j)
	return h.write(ctx)
}

// Started records what the deploy will change.
func (h *JournalHandle) Started(ctx context.Context, services []JournalService, creates []JournalObject) error {
	return h.Update(ctx, func(j *Journal) {
		j.Services = append(j.Services, services...)
		j.Creates = append(j.Creates, creates...)
	})
}

// Created records the ID of an object the deploy created.
func (h *JournalHandle) Created(ctx context.Context, obj JournalObject) error {
	return h.Update(ctx, func(j *Journal) {
		for i, c := range j.Creates {
			if c.Kind == obj.Kind && c.Name == obj.Name {
				j.Creates[i].ID = obj.ID
				return
			}
		}
		j.Creates = append(j.Creates, obj)
	})
}

// Reread replaces a service's previous spec.
func (h *JournalHandle) Reread(ctx context.Context, svc JournalService) error {
	return h.Update(ctx, func(j *Journal) {
		for i, s := range j.Services {
			if s.ID == svc.ID {
				j.Services[i] = svc
				return
			}
		}
		j.Services = append(j.Services, svc)
	})
}

// Close removes the journal: the deploy's outcome is recorded elsewhere
// (the history) and nothing is left to recover.
func (h *JournalHandle) Close(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return RemoveJournal(ctx, h.store, h.j.Stack)
}

// write stores the journal under the next sequence number, then removes
// the previous one. Until that removal, readers see both and take the
// newer.
func (h *JournalHandle) write(ctx context.Context) error {
	data, err := encodeJournal(h.j)
	if err != nil {
		return err
	}
	seq := h.seq + 1
	id, err := h.store.CreateConfig(ctx, swarm.ConfigSpec{
		Annotations: swarm.Annotations{Name: journalName(h.j.Stack, seq), Labels: map[string]string{
			cluster.LabelManaged: "true",
			cluster.LabelJournal: h.j.Stack,
			labelJournalSeq:      strconv.Itoa(seq),
		}},
		Data: data,
	})
	if err != nil {
		return fmt.Errorf("writing the deploy journal of stack %s: %w", h.j.Stack, err)
	}
	prev := h.id
	h.seq, h.id = seq, id
	if prev != "" {
		if err := h.store.RemoveConfig(ctx, prev); err != nil && !cluster.IsNotFound(err) {
			return fmt.Errorf("removing the previous deploy journal of stack %s: %w", h.j.Stack, err)
		}
	}
	return nil
}

func journalName(stack string, seq int) string {
	return cluster.ObjectName("journal", stack, fmt.Sprintf("%06d", seq))
}

func encodeJournal(j Journal) ([]byte, error) {
	data, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("encoding the deploy journal of stack %s: %w", j.Stack, err)
	}
	if len(data) > gzipAbove {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		if _, err := zw.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		data = b.Bytes()
	}
	if len(data) > maxJournalSize {
		return nil, &JournalTooLargeError{Stack: j.Stack, Size: len(data)}
	}
	return data, nil
}

func decodeJournal(data []byte) (Journal, error) {
	var j Journal
	if len(data) > 1 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return j, err
		}
		if data, err = io.ReadAll(io.LimitReader(zr, 64<<20)); err != nil {
			return j, err
		}
	}
	err := json.Unmarshal(data, &j)
	return j, err
}

// journals lists stack's journal objects that Flotilla wrote, by sequence.
func journals(ctx context.Context, store JournalStore, stack string) (map[int]swarm.Config, error) {
	list, err := store.ConfigsByLabel(ctx, cluster.LabelJournal+"="+stack)
	if err != nil {
		return nil, fmt.Errorf("reading the deploy journal of stack %s: %w", stack, err)
	}
	out := map[int]swarm.Config{}
	for _, c := range list {
		seq, err := strconv.Atoi(c.Spec.Labels[labelJournalSeq])
		if err != nil || c.Spec.Labels[cluster.LabelManaged] != "true" || c.Spec.Name != journalName(stack, seq) {
			continue
		}
		out[seq] = c
	}
	return out, nil
}

// FindJournal returns stack's open journal, or nil when there is none. An
// unreadable journal is an error naming its object: nobody can tell what
// the deploy changed, so a person has to look.
func FindJournal(ctx context.Context, store JournalStore, stack string) (*Journal, error) {
	all, err := journals(ctx, store, stack)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	newest := -1
	for seq := range all {
		newest = max(newest, seq)
	}
	c := all[newest]
	j, err := decodeJournal(c.Spec.Data)
	if err == nil && j.Stack != stack {
		err = fmt.Errorf("it is for stack %q", j.Stack)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the deploy journal of stack %s from config %s: %w", stack, c.Spec.Name, err)
	}
	return &j, nil
}

// RemoveJournal removes stack's journal, every sequence of it.
func RemoveJournal(ctx context.Context, store JournalStore, stack string) error {
	all, err := journals(ctx, store, stack)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range all {
		if err := store.RemoveConfig(ctx, c.ID); err != nil && !cluster.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing the deploy journal of stack %s: %w", stack, err)
	}
	return nil
}
