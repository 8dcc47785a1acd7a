package diff

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/swarm"

	"github.com/flotilla-gitops/flotilla/stack"
)

// SpecHash is the value of the io.flotilla.spec-hash label for a desired
// service spec: a hash of its JSON form without that label. encoding/json
// sorts map keys and struct fields have a fixed order, so the same desired
// spec hashes the same in every run.
func SpecHash(spec swarm.ServiceSpec) string {
	spec.Labels = withoutLabel(spec.Labels, stack.LabelSpecHash)
	b, err := json.Marshal(spec)
	if err != nil {
		panic(fmt.Sprintf("encoding service spec %s: %v", spec.Name, err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:20]
}

// withSpecHash returns a copy of the service whose spec carries its hash
// label; the caller's labels map is not modified.
func withSpecHash(s stack.Service) *stack.Service {
	labels := make(map[string]string, len(s.Spec.Labels)+1)
	for k, v := range s.Spec.Labels {
		labels[k] = v
	}
	labels[stack.LabelSpecHash] = SpecHash(s.Spec)
	s.Spec.Labels = labels
	return &s
}
