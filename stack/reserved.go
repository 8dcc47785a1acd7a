package stack

import (
	"errors"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// Labels and names a stack file may not set. Flotilla finds its history,
// pins and ownership by these labels, and docker by its namespace label: an
// object a stack file labels "io.flotilla.pin: prod" would be read as prod's
// pin. Only Flotilla and docker write them.
var reservedLabelPrefixes = []string{LabelPrefix, "com.docker.stack."}

// ReservedNamePrefix starts the names of the objects Flotilla keeps for
// itself (history and pin configs): no stack object may take such a name,
// nor reference one as external.
const ReservedNamePrefix = "flotilla."

// ReservedError is a stack file setting a label or a name that only
// Flotilla or docker may set.
type ReservedError struct {
	File string
	Line int    // 0 when unknown
	Key  string // where, as "services.web.deploy.labels"
	// Label is the reserved label, or Name the reserved object name.
	Label, Name string
}

func (e *ReservedError) Error() string {
	at := e.File
	if e.Line > 0 {
		at = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Name != "" {
		return fmt.Sprintf("%s: %s: name %q is reserved: names starting with %q belong to Flotilla", at, e.Key, e.Name, ReservedNamePrefix)
	}
	return fmt.Sprintf("%s: %s: label %q is reserved: labels under %s are set by Flotilla and docker only",
		at, e.Key, e.Label, strings.Join(reservedLabelPrefixes, " and "))
}

func reservedLabel(key string) bool {
	k := strings.ToLower(strings.TrimSpace(key))
	for _, p := range reservedLabelPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func reservedName(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), ReservedNamePrefix)
}

// positions remember where label blocks, label keys and names were written,
// by their path ("services.web.labels", "services.web.labels.tier"), so that
// a check on the loaded project can name the file and line. An overlay file
// loaded later overwrites the base's entry, as its value does.
type positions map[string]filePos

type filePos struct {
	file string
	line int
}

// placeOf is a label block's or a name's path pattern, for the places the
// reserved check covers.
var reservedPlaces = map[string]bool{
	"services.*.labels": true, "services.*.deploy.labels": true,
	"networks.*.labels": true, "volumes.*.labels": true, "secrets.*.labels": true, "configs.*.labels": true,
	"networks.*.name": true, "volumes.*.name": true, "secrets.*.name": true, "configs.*.name": true,
	"networks.*.external.name": true, "volumes.*.external.name": true,
}

// record notes where node, the value at pattern (shown as shown), was
// written, and where each of its label keys was.
func (p positions) record(file, pattern, shown string, node *yaml.Node) {
	if p == nil || !reservedPlaces[pattern] {
		return
	}
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	p[shown] = filePos{file, node.Line}
	switch node.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			p[shown+"."+node.Content[i].Value] = filePos{file, node.Content[i].Line}
		}
	case yaml.SequenceNode:
		for _, item := range node.Content {
			k, _, _ := strings.Cut(item.Value, "=")
			p[shown+"."+k] = filePos{file, item.Line}
		}
	}
}

// at finds where key (or, failing that, its block) was written.
func (p positions) at(block, key string, files []string) (string, int) {
	if fp, ok := p[block+"."+key]; ok {
		return fp.file, fp.line
	}
	if fp, ok := p[block]; ok {
		return fp.file, fp.line
	}
	return strings.Join(files, " + "), 0
}

// checkReserved refuses reserved labels and names in the loaded project,
// after interpolation, so that "${K}=v" hides nothing.
func checkReserved(project *types.Project, pos positions, files []string) error {
	var errs []error
	labels := func(block string, l types.Labels) {
		for _, k := range sortedKeys(l) {
			if reservedLabel(k) {
				file, line := pos.at(block, k, files)
				errs = append(errs, &ReservedError{File: file, Line: line, Key: block, Label: k})
			}
		}
	}
	name := func(kind, key, n string, external bool) {
		if !reservedName(n) {
			return
		}
		block := kind + "." + key + ".name"
		file, line := pos.at(block, "", files)
		if _, ok := pos[block]; !ok && external {
			block = kind + "." + key + ".external.name"
			file, line = pos.at(block, "", files)
		}
		errs = append(errs, &ReservedError{File: file, Line: line, Key: block, Name: n})
	}
	for _, s := range sortedKeys(project.Services) {
		svc := project.Services[s]
		labels("services."+s+".labels", svc.Labels)
		if svc.Deploy != nil {
			labels("services."+s+".deploy.labels", svc.Deploy.Labels)
		}
	}
	for _, k := range sortedKeys(project.Networks) {
		n := project.Networks[k]
		labels("networks."+k+".labels", n.Labels)
		name("networks", k, n.Name, bool(n.External))
	}
	for _, k := range sortedKeys(project.Volumes) {
		v := project.Volumes[k]
		labels("volumes."+k+".labels", v.Labels)
		name("volumes", k, v.Name, bool(v.External))
	}
	for _, k := range sortedKeys(project.Secrets) {
		s := project.Secrets[k]
		labels("secrets."+k+".labels", s.Labels)
		name("secrets", k, s.Name, bool(s.External))
	}
	for _, k := range sortedKeys(project.Configs) {
		c := project.Configs[k]
		labels("configs."+k+".labels", c.Labels)
		name("configs", k, c.Name, bool(c.External))
	}
	return errors.Join(errs...)
}
