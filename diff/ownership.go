package diff

import "github.com/flotilla-gitops/flotilla/stack"

// conflict returns why an object with a name the stack wants must be left
// alone, or "" when the stack owns it: `docker stack deploy` labelled it with
// a namespace, or Flotilla with its own labels.
func conflict(labels map[string]string) string {
	if owned(labels) {
		return ""
	}
	return "exists but was not created by docker stack deploy or Flotilla (it has neither the " +
		stack.LabelNamespace + " nor the " + stack.LabelManaged + " label): Flotilla will not modify or delete it; " +
		"remove or rename it, or label it to adopt it"
}

func owned(labels map[string]string) bool {
	_, ns := labels[stack.LabelNamespace]
	_, managed := labels[stack.LabelManaged]
	return ns || managed
}

// adopting reports whether an owned object was deployed by
// `docker stack deploy` and is not yet managed by Flotilla.
func adopting(labels map[string]string) bool {
	_, managed := labels[stack.LabelManaged]
	return !managed
}
