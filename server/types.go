package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/flotilla-gitops/flotilla/apply"
	"time"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/sync"
)

// The API's JSON shapes. They are their own types, not sync's, so that the
// wire format has stable lowercase names and carries no desired object
// (a plan's secrets stay out even as REDACTED). Each converts back to sync's
// type where the CLI renders that, so `--server` prints what local runs do.

// Commit is a sync.Revision on the wire.
// Only ref and branch are set when a pass failed before it had a commit.
type Commit struct {
	SHA         string    `json:"sha,omitempty"`
	Ref         string    `json:"ref,omitempty"`
	Branch      string    `json:"branch,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	Author      string    `json:"author,omitempty"`
	AuthorEmail string    `json:"authorEmail,omitempty"`
	Date        time.Time `json:"date,omitzero"`
	Message     string    `json:"message,omitempty"`
}

// CommitOf is r on the wire.
func CommitOf(r sync.Revision) Commit {
	return Commit{SHA: r.SHA, Ref: r.Ref, Branch: r.Branch, Subject: r.Subject, Author: r.AuthorName,
		AuthorEmail: r.AuthorEmail, Date: r.Date, Message: r.Message}
}

// Short is the abbreviated SHA.
func (c Commit) Short() string { return c.SHA[:min(len(c.SHA), 7)] }

// Revision converts back.
func (c Commit) Revision() sync.Revision {
	return sync.Revision{SHA: c.SHA, Ref: c.Ref, Branch: c.Branch, Subject: c.Subject, AuthorName: c.Author,
		AuthorEmail: c.AuthorEmail, Date: c.Date, Message: c.Message}
}

// Record is a sync.Record on the wire.
type Record struct {
	Seq         int64        `json:"seq"`
	Environment string       `json:"environment"`
	Stack       string       `json:"stack"`
	Commit      Commit       `json:"commit"`
	Trigger     sync.Trigger `json:"trigger"`
	Plan        string       `json:"plan,omitempty"`
	Changes     []string     `json:"changes,omitempty"`
	Outcome     sync.Outcome `json:"outcome"`
	Error       string       `json:"error,omitempty"`
	Started     time.Time    `json:"started,omitzero"`
	Finished    time.Time    `json:"finished,omitzero"`
	LastGood    string       `json:"lastGood,omitempty"`
}

// RecordOf is r on the wire.
func RecordOf(r *sync.Record) *Record {
	if r == nil {
		return nil
	}
	return &Record{Seq: r.Seq, Environment: r.Environment, Stack: r.Stack, Commit: CommitOf(r.Commit),
		Trigger: r.Trigger, Plan: r.Plan, Changes: r.Changes, Outcome: r.Outcome, Error: r.Error,
		Started: r.Started, Finished: r.Finished, LastGood: r.LastGood}
}

// Sync converts back.
func (r Record) Sync() sync.Record {
	return sync.Record{Seq: r.Seq, Environment: r.Environment, Stack: r.Stack, Commit: r.Commit.Revision(),
		Trigger: r.Trigger, Plan: r.Plan, Changes: r.Changes, Outcome: r.Outcome, Error: r.Error,
		Started: r.Started, Finished: r.Finished, LastGood: r.LastGood}
}

// Change is a diff.Change without its desired and live objects.
type Change struct {
	Kind    diff.Kind    `json:"kind"`
	Name    string       `json:"name"`
	Action  diff.Action  `json:"action"`
	Effect  diff.Effect  `json:"effect,omitempty"`
	Fields  []diff.Field `json:"fields,omitempty"`
	Reasons []string     `json:"reasons,omitempty"`
}

// Health is an apply.StackHealth on the wire.
type Health struct {
	State    apply.HealthState `json:"state"`
	Reason   string            `json:"reason,omitempty"`
	Services []ServiceHealth   `json:"services,omitempty"`
}

// ServiceHealth is one service's health on the wire.
type ServiceHealth struct {
	Name        string            `json:"name"`
	Image       string            `json:"image,omitempty"`
	State       apply.HealthState `json:"state"`
	Running     uint64            `json:"running"`
	Desired     uint64            `json:"desired"`
	UpdateState string            `json:"updateState,omitempty"`
	Reason      string            `json:"reason,omitempty"`
}

// HealthOf is h on the wire.
func HealthOf(h *apply.StackHealth) *Health {
	if h == nil {
		return nil
	}
	out := &Health{State: h.State, Reason: h.Reason}
	for _, s := range h.Services {
		out.Services = append(out.Services, ServiceHealth{Name: s.Name, Image: s.Image, State: s.State, Running: s.Running,
			Desired: s.Desired, UpdateState: s.UpdateState, Reason: s.Reason})
	}
	return out
}

// Stack converts back.
func (h *Health) Stack() *apply.StackHealth {
	if h == nil {
		return nil
	}
	out := &apply.StackHealth{State: h.State, Reason: h.Reason}
	for _, s := range h.Services {
		out.Services = append(out.Services, apply.ServiceHealth{Name: s.Name, Image: s.Image, State: s.State, Running: s.Running,
			Desired: s.Desired, UpdateState: s.UpdateState, Reason: s.Reason})
	}
	return out
}

// EnvironmentSummary is one line of GET /api/v1/environments.
type EnvironmentSummary struct {
	Name           string            `json:"name"`
	Stack          string            `json:"stack"`
	Ref            string            `json:"ref"`
	Deployed       *Commit           `json:"deployed,omitempty"`
	GitMoved       bool              `json:"gitMoved"`
	TipQuarantined bool              `json:"tipQuarantined"`
	Drift          int               `json:"drift"`
	Health         apply.HealthState `json:"health,omitempty"`
	Pinned         bool              `json:"pinned"`
	LastResult     sync.Outcome      `json:"lastResult,omitempty"`
	Window         string            `json:"window,omitempty"`
	Running        bool              `json:"running"`
	LastError      string            `json:"lastError,omitempty"`
	Errors         []string          `json:"errors,omitempty"`
}

// EnvironmentStatus is GET /api/v1/environments/{env}: a sync.Status.
type EnvironmentStatus struct {
	Environment    string    `json:"environment"`
	Stack          string    `json:"stack"`
	Ref            string    `json:"ref"`
	Deployed       *Record   `json:"deployed,omitempty"`
	Last           *Record   `json:"last,omitempty"`
	Tip            *Commit   `json:"tip,omitempty"`
	GitMoved       bool      `json:"gitMoved"`
	TipQuarantined bool      `json:"tipQuarantined"`
	Pin            *sync.Pin `json:"pin,omitempty"`
	Drift          []Change  `json:"drift"`
	Health         *Health   `json:"health,omitempty"`
	Errors         []string  `json:"errors,omitempty"`
	// What the running loop knows: why automatic syncs wait (a sync
	// window), whether a pass runs now, and the last automatic pass's
	// error with its next retry.
	Window    string    `json:"window,omitempty"`
	Running   bool      `json:"running"`
	LastError string    `json:"lastError,omitempty"`
	NextRetry time.Time `json:"nextRetry,omitzero"`
}

// StatusOf is s on the wire.
func StatusOf(s *sync.Status) EnvironmentStatus {
	out := EnvironmentStatus{Environment: s.Environment, Stack: s.Stack, Ref: s.Ref, Deployed: RecordOf(s.Deployed),
		Last: RecordOf(s.Last), GitMoved: s.GitMoved, TipQuarantined: s.TipQuarantined, Pin: s.Pin,
		Drift: []Change{}, Health: HealthOf(s.Health), Errors: s.Errors, Window: s.Window, Running: s.Running, LastError: s.LastError,
		NextRetry: s.NextRetry}
	if s.Tip != nil {
		c := CommitOf(*s.Tip)
		out.Tip = &c
	}
	for _, c := range s.Drift {
		out.Drift = append(out.Drift, Change{Kind: c.Kind, Name: c.Name, Action: c.Action, Effect: c.Effect,
			Fields: c.Fields, Reasons: c.Reasons})
	}
	return out
}

// Summary shortens a status to its line in the list.
func (s EnvironmentStatus) Summary() EnvironmentSummary {
	out := EnvironmentSummary{Name: s.Environment, Stack: s.Stack, Ref: s.Ref, GitMoved: s.GitMoved,
		TipQuarantined: s.TipQuarantined, Drift: len(s.Drift), Pinned: s.Pin != nil, Window: s.Window,
		Running: s.Running, LastError: s.LastError, Errors: s.Errors}
	if s.Health != nil {
		out.Health = s.Health.State
	}
	if s.Deployed != nil {
		out.Deployed = &s.Deployed.Commit
	}
	if s.Last != nil {
		out.LastResult = s.Last.Outcome
	}
	return out
}

// Sync converts back; drift changes come back without their objects.
func (s EnvironmentStatus) Sync() *sync.Status {
	out := &sync.Status{Environment: s.Environment, Stack: s.Stack, Ref: s.Ref, GitMoved: s.GitMoved,
		TipQuarantined: s.TipQuarantined, Pin: s.Pin, Health: s.Health.Stack(), Errors: s.Errors, Window: s.Window, Running: s.Running,
		LastError: s.LastError, NextRetry: s.NextRetry}
	if s.Deployed != nil {
		r := s.Deployed.Sync()
		out.Deployed = &r
	}
	if s.Last != nil {
		r := s.Last.Sync()
		out.Last = &r
	}
	if s.Tip != nil {
		r := s.Tip.Revision()
		out.Tip = &r
	}
	for _, c := range s.Drift {
		out.Drift = append(out.Drift, diff.Change{Kind: c.Kind, Name: c.Name, Action: c.Action, Effect: c.Effect,
			Fields: c.Fields, Reasons: c.Reasons})
	}
	return out
}

// Report is the answer to a rollback: a sync.Report whose plan is in the
// stable schema of docs/plan-json.md.
type Report struct {
	Environment string          `json:"environment"`
	Stack       string          `json:"stack"`
	Commit      Commit          `json:"commit"`
	Plan        json.RawMessage `json:"plan,omitempty"`
	Skip        sync.Skip       `json:"skip,omitempty"`
	SkipMessage string          `json:"skipMessage,omitempty"`
	Drift       bool            `json:"drift"`
	Health      *Health         `json:"health,omitempty"`
	Record      *Record         `json:"record,omitempty"`
}

// ReportOf is r on the wire; its plan takes the schema of docs/plan-json.md.
func ReportOf(r *sync.Report) (*Report, error) {
	if r == nil {
		return nil, nil
	}
	var plan bytes.Buffer
	if err := r.Plan.WriteJSON(&plan); err != nil {
		return nil, err
	}
	return &Report{Environment: r.Environment, Stack: r.Stack, Commit: CommitOf(r.Commit),
		Plan: bytes.TrimSpace(plan.Bytes()), Skip: r.Skip, SkipMessage: r.SkipMessage, Drift: r.Drift, Health: HealthOf(r.Health), Record: RecordOf(r.Record)}, nil
}

// planJSON reads back the plan of docs/plan-json.md; only what the text
// rendering needs.
type planJSON struct {
	Stack   string `json:"stack"`
	Prune   bool   `json:"prune"`
	Changes []struct {
		Kind       diff.Kind        `json:"kind"`
		Name       string           `json:"name"`
		Action     diff.Action      `json:"action"`
		Effect     diff.Effect      `json:"effect"`
		ID         string           `json:"id"`
		Fields     []diff.Field     `json:"fields"`
		Reasons    []string         `json:"reasons"`
		Conflict   string           `json:"conflict"`
		Superseded bool             `json:"superseded"`
		Attributes []diff.Attribute `json:"attributes"`
	} `json:"changes"`
	Warnings []string `json:"warnings"`
}

// Sync converts back, so that the CLI prints a rollback done by the
// operator as it prints its own. The plan's changes come back without
// their desired objects and with only the live object's ID.
func (r Report) Sync() (*sync.Report, error) {
	out := &sync.Report{Environment: r.Environment, Stack: r.Stack, Commit: r.Commit.Revision(),
		Skip: r.Skip, SkipMessage: r.SkipMessage, Drift: r.Drift, Health: r.Health.Stack()}
	if r.Record != nil {
		rec := r.Record.Sync()
		out.Record = &rec
	}
	if len(r.Plan) == 0 || string(r.Plan) == "null" {
		return out, nil
	}
	var p planJSON
	if err := json.Unmarshal(r.Plan, &p); err != nil {
		return nil, fmt.Errorf("reading the plan of %s's report: %w", r.Environment, err)
	}
	out.Plan = diff.Plan{Stack: p.Stack, Warnings: nilIfEmpty(p.Warnings), Prune: p.Prune}
	for _, c := range p.Changes {
		ch := diff.Change{Kind: c.Kind, Name: c.Name, Action: c.Action, Effect: c.Effect, Reasons: nilIfEmpty(c.Reasons),
			Conflict: c.Conflict, Superseded: c.Superseded, Attributes: c.Attributes}
		if len(c.Fields) > 0 {
			ch.Fields = c.Fields
		}
		if c.ID != "" {
			ch.Live = &diff.Live{ID: c.ID}
		}
		out.Plan.Changes = append(out.Plan.Changes, ch)
	}
	return out, nil
}

// nilIfEmpty undoes the JSON form's "never null" lists.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
