package stack_test

import (
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/stack"
)

// TestRestartToPolicy turns container-style `restart:` into a swarm restart
// policy exactly as the CLI does.
func TestRestartToPolicy(t *testing.T) {
	tests := []struct {
		restart string
		want    *swarm.RestartPolicy
	}{
		{`"no"`, nil},
		{"always", &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}},
		{"unless-stopped", &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}},
		{"on-failure", &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure}},
		{"on-failure:3", &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure, MaxAttempts: ptr[uint64](3)}},
	}
	for _, tt := range tests {
		t.Run(tt.restart, func(t *testing.T) {
			d := render(t, "services:\n  app:\n    image: img\n    restart: "+tt.restart+"\n", nil, stack.Options{})
			if diff := cmp.Diff(tt.want, d.Services[0].Spec.TaskTemplate.RestartPolicy); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	_, err := load(t, "services:\n  app:\n    image: img\n    restart: sometimes\n", nil, stack.Options{})
	if err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("unknown restart policy: got error %v, want one naming it", err)
	}
}
