package apply_test

import (
	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/cluster"
)

var _ apply.Cluster = (*cluster.Docker)(nil)

var (
	_ apply.RecoverCluster = (*cluster.Docker)(nil)
	_ apply.JournalStore   = (*cluster.Docker)(nil)
	_ apply.TaskLogReader  = (*cluster.Docker)(nil)
)
