package stack

import (
	"fmt"
	"strconv"
	"strings"
)

// latestMinor is the newest stack file format docker CLI 28 reads (3.13),
// and the one a file without `version:` is checked against.
const latestMinor = 13

// keySince is the 3.x minor version whose schema first accepts a key, for
// keys newer than 3.0, as "pattern key". Docker checks a file against the
// schema of the version it declares, so `pids` under `version: "3.8"` is an
// error. Derived by probing `docker stack config` (CLI 28.2) per version;
// children of a gated key (rollback_config's fields…) are covered by it.
var keySince = map[string]int{
	" secrets":                                1,
	" configs":                                3,
	"secrets.* external":                      1,
	"secrets.* labels":                        1,
	"secrets.* name":                          5,
	"secrets.* driver":                        8,
	"secrets.* driver_opts":                   8,
	"secrets.* template_driver":               8,
	"configs.* name":                          5,
	"configs.* template_driver":               8,
	"networks.* attachable":                   2,
	"networks.* name":                         5,
	"volumes.* name":                          4,
	"volumes.* x-cluster-spec":                7,
	"services.* secrets":                      1,
	"services.* configs":                      3,
	"services.* credential_spec":              3,
	"services.* isolation":                    5,
	"services.* init":                         7,
	"services.* cgroupns_mode":                9,
	"services.* oom_score_adj":                13,
	"services.*.credential_spec config":       8,
	"services.*.deploy endpoint_mode":         2,
	"services.*.deploy rollback_config":       7,
	"services.*.deploy.update_config order":   4,
	"services.*.deploy.resources.limits pids": 9,
	"services.*.deploy.resources.reservations generic_resources": 5,
	"services.*.deploy.placement preferences":                    3,
	"services.*.deploy.placement max_replicas_per_node":          8,
	"services.*.healthcheck start_period":                        4,
	"services.*.healthcheck start_interval":                      12,
	"services.*.networks.* driver_opts":                          13,
	"services.*.volumes[] tmpfs":                                 6,
}

// formSince gates the long (mapping) syntax of list items.
var formSince = map[string]int{
	"services.*.ports[]":   2,
	"services.*.volumes[]": 2,
}

// extensionSince is when "x-" keys became allowed: at the top level in 3.4,
// inside services, networks, volumes, secrets and configs in 3.7.
func extensionSince(pattern string) int {
	if pattern == "" {
		return 4
	}
	return 7
}

// fileMinor reads a `version:` value; "" and "3" mean the latest format.
func fileMinor(v string) (int, error) {
	if v == "" {
		return latestMinor, nil
	}
	major, minor, hasMinor := strings.Cut(v, ".")
	if major != "3" {
		return 0, fmt.Errorf("unsupported stack file version %q: docker stack deploy reads versions 3.0 to 3.%d", v, latestMinor)
	}
	if !hasMinor {
		return latestMinor, nil // docker reads "3" as the newest 3.x
	}
	n, err := strconv.Atoi(minor)
	if err != nil || n < 0 || n > latestMinor || minor != strconv.Itoa(n) {
		return 0, fmt.Errorf("unsupported stack file version %q: docker stack deploy reads versions 3.0 to 3.%d", v, latestMinor)
	}
	return n, nil
}
