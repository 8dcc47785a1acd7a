package apply_test

import (
	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
)

var _ apply.Cluster = (*cluster.Docker)(nil)
