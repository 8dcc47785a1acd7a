package stack

import (
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
)

func convertMode(mode string, replicas *int) (swarm.ServiceMode, error) {
	var n *uint64
	if replicas != nil {
		if *replicas < 0 {
			return swarm.ServiceMode{}, fmt.Errorf("deploy.replicas: %d is negative", *replicas)
		}
		v := uint64(*replicas)
		n = &v
	}
	switch mode {
	case "global", "global-job":
		if n != nil {
			return swarm.ServiceMode{}, errors.New("deploy.replicas can only be used with replicated or replicated-job mode")
		}
		if mode == "global" {
			return swarm.ServiceMode{Global: &swarm.GlobalService{}}, nil
		}
		return swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}, nil
	case "replicated-job":
		return swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: n, TotalCompletions: n}}, nil
	case "replicated", "":
		return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: n}}, nil
	}
	return swarm.ServiceMode{}, fmt.Errorf("deploy.mode: unknown mode %q", mode)
}

// convertResources always returns a value, as docker/cli does, even when the
// stack file sets no resources.
func convertResources(src types.Resources) (*swarm.ResourceRequirements, error) {
	out := &swarm.ResourceRequirements{}
	if l := src.Limits; l != nil {
		cpus, err := nanoCPUs(l.NanoCPUs)
		if err != nil {
			return nil, fmt.Errorf("deploy.resources.limits.cpus: %w", err)
		}
		out.Limits = &swarm.Limit{NanoCPUs: cpus, MemoryBytes: int64(l.MemoryBytes), Pids: l.Pids}
	}
	if r := src.Reservations; r != nil {
		cpus, err := nanoCPUs(r.NanoCPUs)
		if err != nil {
			return nil, fmt.Errorf("deploy.resources.reservations.cpus: %w", err)
		}
		var generic []swarm.GenericResource
		for _, g := range r.GenericResources {
			var res swarm.GenericResource
			if g.DiscreteResourceSpec != nil {
				res.DiscreteResourceSpec = &swarm.DiscreteGenericResource{Kind: g.DiscreteResourceSpec.Kind, Value: g.DiscreteResourceSpec.Value}
			}
			generic = append(generic, res)
		}
		out.Reservations = &swarm.Resources{NanoCPUs: cpus, MemoryBytes: int64(r.MemoryBytes), GenericResources: generic}
	}
	return out, nil
}

// nanoCPUs converts compose-go's float32 back through its shortest decimal
// form, so "0.1" becomes exactly 100000000 as docker's big.Rat parse gives,
// not the float's binary approximation.
func nanoCPUs(f types.NanoCPUs) (int64, error) {
	if f == 0 {
		return 0, nil
	}
	s := strconv.FormatFloat(float64(f), 'f', -1, 32)
	cpu, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("failed to parse %v as a rational number", s)
	}
	nano := cpu.Mul(cpu, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return 0, fmt.Errorf("value %s is too precise", s)
	}
	return nano.Num().Int64(), nil
}

// convertRestartPolicy prefers deploy.restart_policy and otherwise turns the
// container-style `restart:` into a swarm policy, as the CLI does.
func convertRestartPolicy(restart string, p *types.RestartPolicy) (*swarm.RestartPolicy, error) {
	if p != nil {
		return &swarm.RestartPolicy{
			Condition:   swarm.RestartPolicyCondition(p.Condition),
			Delay:       durationPtr(p.Delay),
			MaxAttempts: p.MaxAttempts,
			Window:      durationPtr(p.Window),
		}, nil
	}
	if restart == "" {
		return nil, nil
	}
	name, count, hasCount := strings.Cut(restart, ":")
	if hasCount && name == "" {
		return nil, fmt.Errorf("restart: invalid restart policy format: no policy provided before colon")
	}
	max := 0
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil {
			return nil, fmt.Errorf("restart: invalid restart policy format: maximum retry count must be an integer")
		}
		if n < 0 {
			return nil, fmt.Errorf("restart: invalid restart policy: maximum retry count cannot be negative")
		}
		max = n
	}
	var attempts *uint64
	if max > 0 {
		v := uint64(max)
		attempts = &v
	}
	switch container.RestartPolicyMode(name) {
	case container.RestartPolicyDisabled, "":
		return nil, nil
	case container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
		return &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, MaxAttempts: attempts}, nil
	case container.RestartPolicyOnFailure:
		return &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure, MaxAttempts: attempts}, nil
	}
	return nil, fmt.Errorf("restart: invalid restart policy: unknown policy %q (must be one of no, always, on-failure or unless-stopped)", name)
}

func convertHealthcheck(h *types.HealthCheckConfig) (*container.HealthConfig, error) {
	if h == nil {
		return nil, nil
	}
	if h.Disable {
		if len(h.Test) != 0 && !(len(h.Test) == 1 && h.Test[0] == "NONE") {
			return nil, errors.New("healthcheck: test and disable can't be set at the same time")
		}
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	out := &container.HealthConfig{Test: h.Test}
	if h.Timeout != nil {
		out.Timeout = time.Duration(*h.Timeout)
	}
	if h.Interval != nil {
		out.Interval = time.Duration(*h.Interval)
	}
	if h.StartPeriod != nil {
		out.StartPeriod = time.Duration(*h.StartPeriod)
	}
	if h.StartInterval != nil {
		out.StartInterval = time.Duration(*h.StartInterval)
	}
	if h.Retries != nil {
		out.Retries = int(*h.Retries)
	}
	return out, nil
}

func convertUpdateConfig(u *types.UpdateConfig) *swarm.UpdateConfig {
	if u == nil {
		return nil
	}
	parallelism := uint64(1)
	if u.Parallelism != nil {
		parallelism = *u.Parallelism
	}
	return &swarm.UpdateConfig{
		Parallelism:     parallelism,
		Delay:           time.Duration(u.Delay),
		FailureAction:   u.FailureAction,
		Monitor:         time.Duration(u.Monitor),
		MaxFailureRatio: u.MaxFailureRatio,
		Order:           u.Order,
	}
}

// convertEndpoint keeps the ports in the order docker/cli sorts them (by
// published port, with sort.Slice, whose order for ties depends only on the
// input, which compose-go produces in the same order as docker's loader).
func convertEndpoint(mode string, ports []types.ServicePortConfig) (*swarm.EndpointSpec, error) {
	out := []swarm.PortConfig{}
	for _, p := range ports {
		first, last, err := publishedRange(p.Published)
		if err != nil {
			return nil, err
		}
		// "8000-8001:80" publishes both host ports to the one target, as
		// docker's port parser expands it.
		for published := first; published <= last; published++ {
			out = append(out, swarm.PortConfig{
				Protocol:      swarm.PortConfigProtocol(p.Protocol),
				TargetPort:    p.Target,
				PublishedPort: published,
				PublishMode:   swarm.PortConfigPublishMode(p.Mode),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PublishedPort < out[j].PublishedPort })
	return &swarm.EndpointSpec{Mode: swarm.ResolutionMode(strings.ToLower(mode)), Ports: out}, nil
}

// publishedRange parses compose-go's published port: "", "8080" or
// "8000-8001". An unpublished port is the range 0-0.
func publishedRange(s string) (uint32, uint32, error) {
	if s == "" {
		return 0, 0, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	first, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("ports: published port %q is not a port number", s)
	}
	last := first
	if isRange {
		if last, err = strconv.ParseUint(hi, 10, 16); err != nil || last < first {
			return 0, 0, fmt.Errorf("ports: published port range %q is invalid", s)
		}
	}
	return uint32(first), uint32(last), nil
}
