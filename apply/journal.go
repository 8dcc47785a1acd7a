package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/stack"
)

// Journal is a deploy's record of intent, kept in the cluster from before
// its first write until its outcome is recorded. Whoever next acts on the
// stack and finds a journal open knows its writer stopped half-way, and
// finishes the deploy with Recover.
type Journal struct {
	Stack string `json:"stack"`
	// Writer names who deploys, for people ("flotilla run (pid 42 on
	// node-1)"); WriterID is its lease holder's ID.
	Writer   string    `json:"writer"`
	WriterID string    `json:"writerID,omitempty"`
	Target   Target    `json:"target"`
	Started  time.Time `json:"started"`
	// Services are the services the deploy updates, with what rolling
	// them back needs.
	Services []JournalService `json:"services,omitempty"`
	// Creates are the objects the deploy creates, in plan order. Names are
	// known from the plan; an ID is filled in once the object exists.
	Creates []JournalObject `json:"creates,omitempty"`
}

// Target is what a deploy deploys.
type Target struct {
	Environment string `json:"environment,omitempty"`
	Commit      string `json:"commit,omitempty"` // the commit SHA, for a deploy from Git
	Ref         string `json:"ref,omitempty"`
	// Source says where the files came from when not from Git ("local
	// files").
	Source string `json:"source,omitempty"`
	// PlanDigest identifies the plan (PlanDigest).
	PlanDigest string `json:"planDigest,omitempty"`
}

// JournalService is a service a deploy updates: its spec and version
// before, and the spec hash of what the deploy sends (a live service
// carrying it was updated).
type JournalService struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Version  uint64            `json:"version"`
	Previous swarm.ServiceSpec `json:"previous"`
	SpecHash string            `json:"specHash,omitempty"`
}

// JournalObject is an object a deploy creates.
type JournalObject struct {
	Kind diff.Kind `json:"kind"`
	Name string    `json:"name"`
	ID   string    `json:"id,omitempty"`
}

// JournalWriter is told, through Options.Journal, what a Run is about to
// change and what it created, so that the journal holds it before it
// matters. Run stops when a call fails: a deploy that cannot be recovered
// is not started, and one whose journal falls behind is rolled back.
type JournalWriter interface {
	// Started is called once, before the first write, with the services
	// the plan updates (their live spec, as the plan read it) and the
	// objects it creates.
	Started(ctx context.Context, services []JournalService, creates []JournalObject) error
	// Created is called after each object is created, with its ID.
	Created(ctx context.Context, obj JournalObject) error
	// Reread is called when a concurrent change made Run read a service
	// again before updating it: its previous spec is now this one.
	Reread(ctx context.Context, svc JournalService) error
}

// journalPlan is what Started is told about plan.
func journalPlan(plan diff.Plan) ([]JournalService, []JournalObject) {
	var services []JournalService
	var creates []JournalObject
	for _, ch := range plan.Changes {
		switch ch.Action {
		case diff.ActionCreate:
			creates = append(creates, JournalObject{Kind: ch.Kind, Name: ch.Name})
		case diff.ActionUpdate, diff.ActionReplace:
			switch {
			case ch.Kind == diff.KindService && ch.Live != nil && ch.Live.Spec != nil:
				services = append(services, JournalService{ID: ch.Live.ID, Name: ch.Name, Version: ch.Live.Version.Index,
					Previous: *ch.Live.Spec, SpecHash: ch.Service.Spec.Labels[stack.LabelSpecHash]})
			case ch.Kind == diff.KindNetwork && ch.Action == diff.ActionReplace:
				// Removed, then created again: only the new one can be
				// undone.
				creates = append(creates, JournalObject{Kind: ch.Kind, Name: ch.Name})
			}
		}
	}
	return services, creates
}

// PlanDigest identifies a plan by the hash of its JSON rendering (which
// masks secret values), so a journal can say which plan it was for.
func PlanDigest(p diff.Plan) string {
	h := sha256.New()
	if err := p.WriteJSON(h); err != nil {
		return ""
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// OpenJournalError refuses to start a deploy while another one's journal is
// still open: recover that one first.
type OpenJournalError struct {
	Journal Journal
}

func (e *OpenJournalError) Error() string {
	return fmt.Sprintf("stack %s has an unfinished deploy by %s, started %s: recover it first",
		e.Journal.Stack, e.Journal.Writer, e.Journal.Started.UTC().Format(time.RFC3339))
}
