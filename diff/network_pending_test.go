package diff

import (
	"testing"

	"github.com/docker/docker/api/types/network"
)

// A network inspected right after its creation has no driver, options or
// IPAM yet; that is not a change.
func TestNetworkAllocationPendingIsNoChange(t *testing.T) {
	want := network.CreateOptions{Driver: "overlay", Options: map[string]string{"encrypted": ""}, Labels: map[string]string{}}
	pending := network.Summary{Name: "shop_default", Scope: "swarm"}
	if fields := networkFields(want, pending); len(fields) != 0 {
		t.Errorf("fields of a network whose allocation is pending: %+v", fields)
	}
	allocated := network.Summary{Name: "shop_default", Scope: "swarm", Driver: "bridge"}
	if fields := networkFields(want, allocated); len(fields) == 0 {
		t.Error("a real driver change is not seen once the network is allocated")
	}
}
