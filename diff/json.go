package diff

import (
	"encoding/json"
	"io"
)

// JSONFormatVersion is the version of the plan's JSON schema
// (docs/plan-json.md). It changes only when a field is removed or its meaning
// changes; new fields may be added within a version.
const JSONFormatVersion = "1"

type jsonPlan struct {
	FormatVersion string       `json:"format_version"`
	Stack         string       `json:"stack"`
	HasChanges    bool         `json:"has_changes"`
	Prune         bool         `json:"prune"`
	Summary       jsonSummary  `json:"summary"`
	Changes       []jsonChange `json:"changes"`
	Warnings      []string     `json:"warnings"`
}

type jsonSummary struct {
	Create   int `json:"create"`
	Update   int `json:"update"`
	Replace  int `json:"replace"`
	Delete   int `json:"delete"`
	Noop     int `json:"noop"`
	Conflict int `json:"conflict"`
	// PruneOnly: deletes shown but not applied, for want of prune.
	PruneOnly int `json:"prune_only"`
}

type jsonChange struct {
	Kind     Kind     `json:"kind"`
	Name     string   `json:"name"`
	Action   Action   `json:"action"`
	Effect   Effect   `json:"effect"`
	ID       string   `json:"id,omitempty"`
	Fields   []Field  `json:"fields"`
	Reasons  []string `json:"reasons"`
	Conflict string   `json:"conflict,omitempty"`
	// Superseded: an older version of a secret or config, removed after
	// a successful deploy even without prune.
	Superseded bool `json:"superseded,omitempty"`
	// PruneOnly: a delete that happens only with prune, in a plan without.
	PruneOnly  bool        `json:"prune_only,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"`
}

// WriteJSON writes the plan in the stable schema of docs/plan-json.md. Lists
// are never null, and secret and config content never appears.
func (p Plan) WriteJSON(w io.Writer) error {
	s := p.Summary()
	out := jsonPlan{
		FormatVersion: JSONFormatVersion,
		Stack:         p.Stack,
		HasChanges:    p.HasChanges(),
		Prune:         p.Prune,
		Summary:       jsonSummary(s),
		Changes:       make([]jsonChange, 0, len(p.Changes)),
		Warnings:      nonNil(p.Warnings),
	}
	for _, c := range p.Changes {
		jc := jsonChange{Kind: c.Kind, Name: c.Name, Action: c.Action, Effect: c.Effect,
			Fields: c.Fields, Reasons: nonNil(c.Reasons), Conflict: c.Conflict, Superseded: c.Superseded,
			PruneOnly: p.PruneOnly(c), Attributes: c.Attributes}
		if jc.Fields == nil {
			jc.Fields = []Field{}
		}
		if c.Live != nil {
			jc.ID = c.Live.ID
		}
		out.Changes = append(out.Changes, jc)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
