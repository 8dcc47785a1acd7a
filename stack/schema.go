package stack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// dockerKeys is the set of keys docker/cli's compose schema (format 3.x)
// accepts at each place, by path pattern ("*" is any name, "[]" a list item).
// compose-go validates against the newer Compose Specification, which accepts
// many keys `docker stack deploy` rejects ("Additional property … is not
// allowed"); this restores docker's verdict. Places not listed hold free-form
// maps (labels, environment, driver_opts…) and are not checked.
var dockerKeys = map[string]string{
	"": "version services networks volumes secrets configs",
	"services.*": "deploy build cap_add cap_drop cgroupns_mode cgroup_parent command configs container_name " +
		"credential_spec depends_on devices dns dns_search domainname entrypoint env_file environment expose " +
		"external_links extra_hosts healthcheck hostname image init ipc isolation labels links logging " +
		"mac_address network_mode networks pid ports privileged read_only restart security_opt shm_size secrets " +
		"sysctls stdin_open stop_grace_period stop_signal tmpfs tty ulimits oom_score_adj user userns_mode volumes working_dir",
	"services.*.deploy":                                                                   "mode endpoint_mode replicas labels rollback_config update_config resources restart_policy placement",
	"services.*.deploy.rollback_config":                                                   "parallelism delay failure_action monitor max_failure_ratio order",
	"services.*.deploy.update_config":                                                     "parallelism delay failure_action monitor max_failure_ratio order",
	"services.*.deploy.resources":                                                         "limits reservations",
	"services.*.deploy.resources.limits":                                                  "cpus memory pids",
	"services.*.deploy.resources.reservations":                                            "cpus memory generic_resources",
	"services.*.deploy.resources.reservations.generic_resources[]":                        "discrete_resource_spec",
	"services.*.deploy.resources.reservations.generic_resources[].discrete_resource_spec": "kind value",
	"services.*.deploy.restart_policy":                                                    "condition delay max_attempts window",
	"services.*.deploy.placement":                                                         "constraints preferences max_replicas_per_node",
	"services.*.deploy.placement.preferences[]":                                           "spread",
	"services.*.healthcheck":                                                              "disable interval retries test timeout start_period start_interval",
	"services.*.logging":                                                                  "driver options",
	"services.*.credential_spec":                                                          "config file registry",
	"services.*.networks.*":                                                               "aliases driver_opts ipv4_address ipv6_address",
	"services.*.ports[]":                                                                  "mode target published protocol",
	"services.*.volumes[]":                                                                "type source target read_only consistency bind volume tmpfs",
	"services.*.secrets[]":                                                                "source target uid gid mode",
	"services.*.configs[]":                                                                "source target uid gid mode",
	"services.*.ulimits.*":                                                                "hard soft",
	"networks.*":                                                                          "name driver driver_opts ipam external internal attachable labels",
	"networks.*.ipam":                                                                     "driver config",
	"networks.*.ipam.config[]":                                                            "subnet",
	"networks.*.external":                                                                 "name",
	"volumes.*":                                                                           "name driver driver_opts external labels x-cluster-spec",
	"volumes.*.external":                                                                  "name",
	"secrets.*":                                                                           "name file external labels driver driver_opts template_driver",
	"configs.*":                                                                           "name file external labels template_driver",
}

// namedMaps are maps whose keys are names chosen by the author.
var namedMaps = map[string]bool{
	"services": true, "networks": true, "volumes": true, "secrets": true, "configs": true,
	"services.*.networks": true, "services.*.ulimits": true,
}

// extensible places accept "x-…" keys.
var extensible = map[string]bool{
	"": true, "services.*": true, "networks.*": true, "volumes.*": true, "secrets.*": true, "configs.*": true,
}

// checkKeys parses one stack file and reports YAML errors with the file and
// line, keys docker's schema rejects as errors, and keys docker ignores as
// warnings.
//
// It returns the content with the top-level `version:` line blanked: docker
// requires a 3.x version or none, and compose-go would log that the key is
// obsolete, which is noise for a stack file.
//
// pos, when not nil, records where labels and object names were written,
// for the reserved-name check that runs on the loaded project.
func checkKeys(file string, content []byte, pos positions) ([]byte, []Warning, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(content))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("parsing %s: %w", file, err)
	}
	// docker reads the first document only and compose-go merges them all:
	// refuse rather than pick one.
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("parsing %s: a stack file must hold one YAML document", file)
	}
	if len(doc.Content) == 0 {
		return nil, nil, fmt.Errorf("parsing %s: empty stack file", file)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s:%d: a stack file must be a mapping of keys", file, root.Line)
	}
	minor, versionLine := latestMinor, 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "version" {
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return nil, nil, fmt.Errorf("%s:%d: version must be a string like \"3.8\"", file, v.Line)
		}
		m, err := fileMinor(v.Value)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", file, v.Line, err)
		}
		minor = m
		// Only a block-style `version: x` line holds nothing else.
		if root.Style&yaml.FlowStyle == 0 && k.Column == 1 && k.Line == v.Line {
			versionLine = k.Line
		}
	}
	c := &keyChecker{file: file, minor: minor, pos: pos}
	c.walk(root, "", "", nil)
	if err := errors.Join(c.errs...); err != nil {
		return nil, nil, err
	}
	if versionLine > 0 {
		content = blankLine(content, versionLine)
	}
	return content, c.warnings, nil
}

// blankLine replaces line n (1-based) with an empty line, so later line
// numbers stay right.
func blankLine(content []byte, n int) []byte {
	lines := bytes.SplitAfter(content, []byte("\n"))
	if n < 1 || n > len(lines) {
		return content
	}
	out := make([]byte, 0, len(content))
	for i, l := range lines {
		if i == n-1 {
			if bytes.HasSuffix(l, []byte("\n")) {
				out = append(out, '\n')
			}
			continue
		}
		out = append(out, l...)
	}
	return out
}

type keyChecker struct {
	file     string
	minor    int // the file's format, 3.<minor>
	warnings []Warning
	errs     []error
	pos      positions
	// seen bounds the walk: an aliased node is checked once per place, so
	// nested aliases ("billion laughs") cannot make it exponential.
	seen map[aliasVisit]bool
}

type aliasVisit struct {
	node    *yaml.Node
	pattern string
}

// walk checks node at pattern; shown is the human path ("services.web.deploy").
func (c *keyChecker) walk(node *yaml.Node, pattern, shown string, service *string) {
	if node.Kind == yaml.AliasNode {
		node = node.Alias
		v := aliasVisit{node, pattern}
		if node == nil || c.seen[v] {
			return
		}
		if c.seen == nil {
			c.seen = map[aliasVisit]bool{}
		}
		c.seen[v] = true
	}
	switch node.Kind {
	case yaml.SequenceNode:
		if uniqueItems[pattern] {
			seen := map[string]bool{}
			for _, item := range node.Content {
				if item.Kind != yaml.ScalarNode {
					continue
				}
				if seen[item.Value] {
					c.errs = append(c.errs, fmt.Errorf("%s:%d: %s: %q is listed twice; docker's schema requires unique items", c.file, item.Line, shown, item.Value))
				}
				seen[item.Value] = true
			}
		}
		for _, item := range node.Content {
			c.walk(item, pattern+"[]", shown, service)
		}
	case yaml.MappingNode:
		if since, ok := formSince[pattern]; ok && c.minor < since {
			c.errs = append(c.errs, fmt.Errorf("%s:%d: %s: the long syntax needs stack file version 3.%d or later (this file is 3.%d)", c.file, node.Line, shown, since, c.minor))
			return
		}
		allowed, checked := dockerKeys[pattern]
		named := namedMaps[pattern]
		if !checked && !named {
			return
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			key := k.Value
			if key == "<<" {
				c.walk(v, pattern, shown, service)
				continue
			}
			childShown := strings.TrimPrefix(shown+"."+key, ".")
			child := pattern + "." + key
			if named {
				child = pattern + ".*"
				if pattern == "services" {
					service = &key
				}
			} else if strings.HasPrefix(key, "x-") && extensible[pattern] {
				if since := extensionSince(pattern); c.minor < since {
					c.errs = append(c.errs, fmt.Errorf("%s:%d: %s: extension key %q needs stack file version 3.%d or later (this file is 3.%d)", c.file, k.Line, orRoot(shown), key, since, c.minor))
				}
				continue
			} else if !hasWord(allowed, key) {
				c.errs = append(c.errs, fmt.Errorf("%s:%d: %s: key %q is not allowed by docker's stack file schema", c.file, k.Line, orRoot(shown), key))
				continue
			} else if since, ok := keySince[pattern+" "+key]; ok && c.minor < since {
				c.errs = append(c.errs, fmt.Errorf("%s:%d: %s: key %q needs stack file version 3.%d or later (this file is 3.%d)", c.file, k.Line, orRoot(shown), key, since, c.minor))
				continue
			}
			child = strings.TrimPrefix(child, ".")
			c.pos.record(c.file, child, childShown, v)
			if pattern == "services.*" {
				if why, ok := ignoredKeys[key]; ok {
					c.warnings = append(c.warnings, Warning{Service: *service, Key: key, Message: "ignored: " + why})
				}
			}
			if pattern == "services.*.networks.*" && (key == "ipv4_address" || key == "ipv6_address") {
				c.warnings = append(c.warnings, Warning{Service: *service, Key: "networks." + key, Message: "ignored: swarm assigns service addresses"})
			}
			c.walk(v, child, childShown, service)
		}
	}
}

func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if f == w {
			return true
		}
	}
	return false
}

func orRoot(s string) string {
	if s == "" {
		return "top level"
	}
	return s
}
