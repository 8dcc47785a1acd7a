package diff

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/network"

	"github.com/flotilla-gitops/flotilla/stack"
)

// daemonOptions are network options the engine adds itself.
var daemonOptions = map[string]bool{"com.docker.network.driver.overlay.vxlanid_list": true}

// compareNetwork decides what happens to one desired network that exists on
// the engine. Networks can't be updated: any change to how the network is
// built means removing it, which detaches every service on it.
func compareNetwork(d stack.Network, l *network.Summary, attached []string) (Change, []string) {
	c := Change{Kind: KindNetwork, Name: d.Name, Network: &d, Live: &Live{ID: l.ID, Network: l}}
	if msg := conflict(l.Labels); msg != "" {
		c.Action, c.Effect, c.Conflict = ActionConflict, EffectNone, fmt.Sprintf("network %s %s", d.Name, msg)
		c.Network = nil
		return c, nil
	}
	c.Fields = networkFields(d.Create, *l)
	if len(c.Fields) == 0 {
		c.Action, c.Effect = ActionNoop, EffectNone
	} else {
		c.Action, c.Effect = ActionReplace, EffectRecreate
		reason := "a network can't be changed in place: it is removed and created again"
		if len(attached) > 0 {
			reason += ", detaching services " + strings.Join(attached, ", ")
		}
		c.Reasons = append(c.Reasons, reason)
	}
	var warnings []string
	if user := userLabelFields(d.Create.Labels, l.Labels); len(user) > 0 {
		warnings = append(warnings, fmt.Sprintf("network %s: labels differ from the stack file (%s); the engine can't change a network's labels, so they stay until the network is recreated",
			d.Name, strings.Join(user, ", ")))
	}
	return c, warnings
}

func networkFields(want network.CreateOptions, live network.Summary) []Field {
	var fields []Field
	add := func(path, old, new string) {
		if old != new {
			fields = append(fields, Field{Path: path, Old: old, New: new})
		}
	}
	add("Internal", strconv.FormatBool(live.Internal), strconv.FormatBool(want.Internal))
	add("Attachable", strconv.FormatBool(live.Attachable), strconv.FormatBool(want.Attachable))
	wantV6 := want.EnableIPv6 != nil && *want.EnableIPv6
	add("EnableIPv6", strconv.FormatBool(live.EnableIPv6), strconv.FormatBool(wantV6))
	if live.Driver == "" {
		// Just created: the manager fills in the driver, its options and
		// IPAM moments later (engine 20.10). Until then there is nothing to
		// compare them with, and a replace would be noise.
		return fields
	}
	driver := want.Driver
	if driver == "" {
		driver = "overlay"
	}
	add("Driver", live.Driver, driver)
	keys := map[string]bool{}
	for k := range want.Options {
		keys[k] = true
	}
	for k := range live.Options {
		if !daemonOptions[k] {
			keys[k] = true
		}
	}
	for _, k := range sortedKeys(keys) {
		add("Options["+k+"]", value(live.Options, k), value(want.Options, k))
	}
	if want.IPAM != nil {
		wantDriver := want.IPAM.Driver
		if wantDriver == "" {
			wantDriver = "default"
		}
		add("IPAM.Driver", live.IPAM.Driver, wantDriver)
		// Without a configured subnet the engine picks one; only a
		// configured one can differ.
		if len(want.IPAM.Config) > 0 {
			add("IPAM.Config", format("", tree(ipamAsWanted(live.IPAM.Config, want.IPAM.Config)), nil), format("", tree(want.IPAM.Config), nil))
		}
	}
	return fields
}

// ipamAsWanted drops from the live IPAM configs what the engine filled in
// itself: a gateway the stack file did not give.
func ipamAsWanted(live, want []network.IPAMConfig) []network.IPAMConfig {
	gateway := map[string]bool{}
	for _, w := range want {
		gateway[w.Subnet] = w.Gateway != ""
	}
	out := make([]network.IPAMConfig, len(live))
	for i, l := range live {
		if !gateway[l.Subnet] {
			l.Gateway = ""
		}
		out[i] = l
	}
	return out
}

// userLabelFields names the labels, other than the ownership ones, that
// differ between desired and live.
func userLabelFields(want, live map[string]string) []string {
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range live {
		keys[k] = true
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		if k == stack.LabelNamespace || strings.HasPrefix(k, stack.LabelPrefix) {
			continue
		}
		if value(want, k) != value(live, k) {
			out = append(out, k)
		}
	}
	return out
}

func value(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		if v == "" {
			return `""`
		}
		return v
	}
	return absent
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
