package stack

import (
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/tree"
	"github.com/compose-spec/compose-go/v2/types"
)

// The casts kept are exactly compose-go's at the paths checkKeys lets
// through.
func TestDockerCastsKeepThePathsAStackFileCanHave(t *testing.T) {
	all := loader.ToOptions(&types.ConfigDetails{}, nil).Interpolate.TypeCastMapping
	kept := dockerCasts()
	for _, p := range []tree.Path{"services.*.deploy.replicas", "services.*.ports.[].target", "services.*.healthcheck.retries",
		"services.*.depends_on.*.required", "networks.*.external", "services.*.volumes.[].volume.nocopy",
		"services.*.ulimits.*.soft", "services.*.read_only", "services.*.deploy.update_config.max_failure_ratio"} {
		if _, ok := all[p]; !ok {
			t.Errorf("compose-go has no cast at %s any more: update this test", p)
		}
		if _, ok := kept[p]; !ok {
			t.Errorf("the cast at %s was dropped, but a stack file can have it", p)
		}
	}
	for _, p := range []tree.Path{"jobs.*.cpus", "services.*.pre_start.*.privileged", "services.*.cpu_count",
		"services.*.scale", "services.*.networks.*.use_service_name_alias", "networks.*.enable_ipv6"} {
		if _, ok := kept[p]; ok {
			t.Errorf("the cast at %s was kept, but checkKeys refuses the key", p)
		}
	}
	var names []string
	for p := range kept {
		names = append(names, string(p))
	}
	slices.Sort(names)
	t.Logf("%d of compose-go's %d casts kept: %v", len(kept), len(all), names)
}
