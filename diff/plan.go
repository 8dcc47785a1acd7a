package diff

import (
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// Kind is the type of Swarm object a Change is about.
type Kind string

const (
	KindNetwork Kind = "network"
	KindSecret  Kind = "secret"
	KindConfig  Kind = "config"
	KindService Kind = "service"
)

// Action is what apply must do with one object.
type Action string

const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionReplace Action = "replace" // remove, then create: the object can't be updated in place
	ActionDelete  Action = "delete"
	ActionNoop    Action = "noop"
	// ActionConflict marks an object in the stack's scope that neither
	// `docker stack deploy` nor Flotilla created. Apply must refuse the plan.
	ActionConflict Action = "conflict"
)

// Effect is what a change does to the running tasks of the stack.
type Effect string

const (
	EffectNone     Effect = "none"            // nothing running is touched
	EffectInPlace  Effect = "in place"        // replicas or service labels: no task restarts
	EffectRolling  Effect = "rolling restart" // tasks are replaced per the update config
	EffectRecreate Effect = "recreate"        // the object is removed and created again
	EffectRemove   Effect = "remove"          // a deleted service's tasks stop
)

// Field is one changed field of an object. Path names it from the spec's root
// with list elements keyed by something stable (Env[VERSION],
// EndpointSpec.Ports[8080/tcp]). Sensitive fields never carry values: Old and
// New are both SensitiveChanged, or one is absent and the other
// SensitiveValue (see MaskSensitive).
type Field struct {
	Path      string `json:"path"`
	Old       string `json:"old"`
	New       string `json:"new"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// SensitiveChanged stands in for secret and config content in a plan.
const SensitiveChanged = "(sensitive value changed)"

// Change is one object's entry in a plan. It carries everything apply needs
// to execute it without deciding anything again.
type Change struct {
	Kind    Kind
	Name    string // name on the engine: "shop_api"
	Action  Action
	Effect  Effect
	Fields  []Field  // sorted by Path; empty for create, delete and noop
	Reasons []string // why, in words: "adopting an object deployed by docker stack deploy"
	// Conflict explains an ActionConflict.
	Conflict string
	// Superseded marks the delete of an older version of a secret or
	// config the stack still uses under a newer one: apply removes it
	// after a successful deploy even without prune, and keeps it when the
	// deploy fails and rolls back to it.
	Superseded bool
	// Attributes say what a created service will run — its image, mode or
	// replicas, published ports — since a create has no fields to show.
	Attributes []Attribute

	// The desired object, for every action but delete and conflict; exactly
	// one is set (matching Kind). A desired service's spec already carries the
	// io.flotilla.spec-hash label. It references networks, secrets and configs
	// by name: apply fills in their IDs once they exist.
	Service *stack.Service
	Network *stack.Network
	Secret  *stack.Secret
	Config  *stack.Config

	// Live is the existing object, for update, replace, delete, noop and
	// conflict.
	Live *Live
}

// Attribute is one key attribute of a created object, for people reading
// the plan: "image", "flotilla-test/app:v2".
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Live identifies the existing object a change acts on. Version is the one
// this plan was computed from: an update must send it, so that a concurrent
// change makes the update fail instead of being overwritten.
type Live struct {
	ID      string
	Version swarm.Version // zero for networks, which have no version
	// Spec is the live service's spec as the engine returned it, for
	// rolling back to exactly this (services only). Apply keeps
	// TaskTemplate.ForceUpdate from it.
	Spec *swarm.ServiceSpec
	// Network is the live network (networks only).
	Network *network.Summary
	// Labels are the live object's labels (secrets and configs, and every
	// deleted object).
	Labels map[string]string
}

// Plan is the ordered list of changes that brings a stack to its desired
// state. Changes are sorted in apply order: networks, then secrets and
// configs, then services; deletes come last, in the reverse of that order.
// Within a group, by Name.
type Plan struct {
	Stack    string
	Changes  []Change // noops included, so a plan also says what it checked
	Warnings []string
	// Prune says the deploy removes what the stack files no longer name
	// (--prune, an environment's prune: true). Compute leaves it false; the
	// caller sets it before rendering, counting or applying. Without it a
	// delete happens only for a superseded version (see PruneOnly).
	Prune bool
}

// PruneOnly reports a delete that this plan only shows: the object is no
// longer in the stack files, and only a deploy with prune removes it.
func (p Plan) PruneOnly(c Change) bool {
	return c.Action == ActionDelete && !p.Prune && !c.Superseded
}

// HasChanges reports whether applying the plan would change anything, or
// whether it holds a conflict that blocks it. Deletes that happen only with
// prune are not changes of a plan without it.
func (p Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action != ActionNoop && !p.PruneOnly(c) {
			return true
		}
	}
	return false
}

// Conflicts returns the conflicting changes; apply refuses a plan that has any.
func (p Plan) Conflicts() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Action == ActionConflict {
			out = append(out, c)
		}
	}
	return out
}

// Summary counts the changes by action. Delete counts only what the deploy
// removes; PruneOnly the deletes it leaves in place for want of prune.
type Summary struct {
	Create, Update, Replace, Delete, Noop, Conflict int
	PruneOnly                                       int
}

// Summary counts the plan's changes by action.
func (p Plan) Summary() Summary {
	var s Summary
	for _, c := range p.Changes {
		if p.PruneOnly(c) {
			s.PruneOnly++
			continue
		}
		switch c.Action {
		case ActionCreate:
			s.Create++
		case ActionUpdate:
			s.Update++
		case ActionReplace:
			s.Replace++
		case ActionDelete:
			s.Delete++
		case ActionNoop:
			s.Noop++
		case ActionConflict:
			s.Conflict++
		}
	}
	return s
}
