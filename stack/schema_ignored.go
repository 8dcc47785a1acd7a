package stack

import "strings"

// uniqueItems are lists docker's schema requires to hold no duplicates.
var uniqueItems = map[string]bool{}

func init() {
	for _, k := range strings.Fields("cap_add cap_drop devices dns dns_search depends_on env_file environment expose " +
		"external_links extra_hosts labels links networks ports security_opt sysctls tmpfs volumes deploy.labels") {
		uniqueItems["services.*."+k] = true
	}
	uniqueItems["services.*.networks.*.aliases"] = true
	uniqueItems["networks.*.labels"] = true
	uniqueItems["volumes.*.labels"] = true
	uniqueItems["secrets.*.labels"] = true
	uniqueItems["configs.*.labels"] = true
}

// ignoredKeys are service keys docker's schema accepts but `docker stack
// deploy` does not apply to a swarm service.
var ignoredKeys = map[string]string{
	"build":          "images are not built by docker stack deploy",
	"cgroupns_mode":  "not supported by swarm services",
	"cgroup_parent":  "not supported by swarm services",
	"container_name": "setting the container name is not supported",
	"depends_on":     "swarm starts services independently",
	"devices":        "not supported by swarm services",
	"domainname":     "not supported by swarm services",
	"expose":         "services on the same network reach each other on any port",
	"external_links": "not supported by swarm services",
	"ipc":            "not supported by swarm services",
	"links":          "not supported by swarm services",
	"mac_address":    "not supported by swarm services",
	"network_mode":   "not supported by swarm services",
	"pid":            "not supported by swarm services",
	"privileged":     "not supported by swarm services",
	"security_opt":   "not supported by swarm services",
	"shm_size":       "not supported by swarm services",
	"tmpfs":          "not applied by docker stack deploy; use a volume of type tmpfs",
	"userns_mode":    "not supported by swarm services",
}
