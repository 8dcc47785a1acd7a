package diff

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// Secrets and configs: their data is immutable on the engine, so new content
// means a replace; labels can be updated in place. Content never appears in a
// plan, only SensitiveChanged.

// object is what secrets and configs have in common, desired and live.
type object struct {
	kind           Kind
	name           string
	labels         map[string]string
	driver         string
	templateDriver string
	driverOpts     map[string]string
}

func compareSecret(d stack.Secret, l *swarm.Secret, users []string) Change {
	c := Change{Kind: KindSecret, Name: d.Name, Secret: &d,
		Live: &Live{ID: l.ID, Version: l.Version, Labels: l.Spec.Labels}}
	live := object{KindSecret, l.Spec.Name, l.Spec.Labels, driverName(l.Spec.Driver), driverName(l.Spec.Templating), driverOpts(l.Spec.Driver)}
	want := object{KindSecret, d.Name, d.Labels, d.Driver, d.TemplateDriver, d.DriverOpts}
	// The engine never returns a secret's data: compare the content
	// versions recorded in labels, when both sides have one.
	changed := false
	wantV, liveV := d.Labels[stack.LabelVersion], l.Spec.Labels[stack.LabelVersion]
	var note string
	switch {
	case wantV != "" && liveV != "":
		changed = wantV != liveV
	case liveV == "":
		note = "the secret's content can't be read back from the engine and it has no " + stack.LabelVersion + " label: assumed unchanged"
	default:
		note = "the stack gives no content version for this secret: assumed unchanged"
	}
	compareObject(&c, want, live, changed, users)
	if note != "" && c.Action != ActionConflict {
		c.Reasons = append(c.Reasons, note)
	}
	if c.Action == ActionConflict {
		c.Secret = nil
	}
	return c
}

func compareConfig(d stack.Config, l *swarm.Config, users []string) Change {
	c := Change{Kind: KindConfig, Name: d.Name, Config: &d,
		Live: &Live{ID: l.ID, Version: l.Version, Labels: l.Spec.Labels}}
	live := object{KindConfig, l.Spec.Name, l.Spec.Labels, "", driverName(l.Spec.Templating), nil}
	want := object{KindConfig, d.Name, d.Labels, "", d.TemplateDriver, nil}
	// Config data is returned by the engine, so it is compared exactly.
	changed := !bytes.Equal(d.Data.Bytes(), l.Spec.Data)
	compareObject(&c, want, live, changed, users)
	if c.Action == ActionConflict {
		c.Config = nil
	}
	return c
}

func compareObject(c *Change, want, live object, contentChanged bool, users []string) {
	if msg := conflict(live.labels); msg != "" {
		c.Action, c.Effect, c.Conflict = ActionConflict, EffectNone, fmt.Sprintf("%s %s %s", want.kind, want.name, msg)
		return
	}
	var immutable []Field
	if contentChanged {
		immutable = append(immutable, Field{Path: "Data", Old: SensitiveChanged, New: SensitiveChanged, Sensitive: true})
	}
	if want.driver != live.driver {
		immutable = append(immutable, Field{Path: "Driver.Name", Old: orAbsent(live.driver), New: orAbsent(want.driver)})
	}
	// A secret driver's options say where the driver finds the value:
	// changing them is changing the content.
	for _, k := range sortedKeys(unionKeys(want.driverOpts, live.driverOpts)) {
		if want.driverOpts[k] != live.driverOpts[k] {
			immutable = append(immutable, Field{Path: "Driver.Options[" + k + "]", Old: orAbsent(live.driverOpts[k]), New: orAbsent(want.driverOpts[k])})
		}
	}
	if want.templateDriver != live.templateDriver {
		immutable = append(immutable, Field{Path: "Templating.Name", Old: orAbsent(live.templateDriver), New: orAbsent(want.templateDriver)})
	}
	var labels []Field
	compareTrees("Annotations.Labels", "Labels", keyedLabels(live.labels), keyedLabels(want.labels), &labels)
	c.Fields = append(labels, immutable...)
	sortFields(c.Fields)
	switch {
	case len(immutable) > 0:
		c.Action, c.Effect = ActionReplace, EffectRecreate
		reason := fmt.Sprintf("a %s's data can't be changed in place: it is removed and created again", want.kind)
		if len(users) > 0 {
			reason += "; services using it: " + strings.Join(users, ", ")
		}
		c.Reasons = append(c.Reasons, reason)
	case len(labels) > 0:
		c.Action, c.Effect = ActionUpdate, EffectNone
		if adopting(live.labels) {
			c.Reasons = append(c.Reasons, fmt.Sprintf("adopting a %s deployed by docker stack deploy", want.kind))
		}
	default:
		c.Action, c.Effect = ActionNoop, EffectNone
	}
}

func keyedLabels(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	k := keyed{}
	for key, v := range m {
		k[key] = v
	}
	return k
}

func driverOpts(d *swarm.Driver) map[string]string {
	if d == nil {
		return nil
	}
	return d.Options
}

func unionKeys(a, b map[string]string) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

func driverName(d *swarm.Driver) string {
	if d == nil {
		return ""
	}
	return d.Name
}

func orAbsent(s string) string {
	if s == "" {
		return absent
	}
	return s
}
