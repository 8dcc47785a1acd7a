package stack_test

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flotilla-gitops/flotilla/stack"
)

// TestConvertService has one case per family of service keys; each compares
// the part of the spec the family sets.
func TestConvertService(t *testing.T) {
	tests := []struct {
		name string
		yml  string // the service "app", indented under services:
		part func(s swarm.ServiceSpec) any
		want any
	}{{
		name: "command and entrypoint",
		yml:  "    entrypoint: /bin/sh -c\n    command: [\"echo\", \"a b\"]\n",
		part: func(s swarm.ServiceSpec) any {
			return [][]string{s.TaskTemplate.ContainerSpec.Command, s.TaskTemplate.ContainerSpec.Args}
		},
		want: [][]string{{"/bin/sh", "-c"}, {"echo", "a b"}},
	}, {
		name: "environment map with empty and bare values, sorted",
		yml:  "    environment:\n      B: \"2\"\n      A: \"\"\n      BARE:\n      FROMVAR:\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Env },
		want: []string{"A=", "B=2", "BARE", "FROMVAR=set"},
	}, {
		name: "empty value taken from the variables, as docker takes it from its environment",
		yml:  "    environment:\n      FROMVAR: \"\"\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Env },
		want: []string{"FROMVAR=set"},
	}, {
		name: "environment list",
		yml:  "    environment:\n      - Z=1\n      - Y=\n      - X\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Env },
		want: []string{"X", "Y=", "Z=1"},
	}, {
		name: "env_file read literally, environment wins",
		yml:  "    env_file: app.env\n    environment:\n      KEEP: env\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Env },
		want: []string{"FROMVAR=set", "KEEP=env", "QUOTED=\"q\""},
	}, {
		name: "labels vs deploy.labels",
		yml:  "    labels: {c: \"1\"}\n    deploy:\n      labels: {s: \"2\"}\n",
		part: func(s swarm.ServiceSpec) any {
			return []map[string]string{s.Labels, s.TaskTemplate.ContainerSpec.Labels}
		},
		want: []map[string]string{
			{"s": "2", stack.LabelNamespace: "s", stack.LabelImage: "img:1", stack.LabelManaged: "true", stack.LabelStack: "s"},
			{"c": "1", stack.LabelNamespace: "s"},
		},
	}, {
		name: "container options",
		yml: "    hostname: h\n    user: \"1:2\"\n    working_dir: /w\n    stop_signal: SIGINT\n    stop_grace_period: 1m\n" +
			"    read_only: true\n    init: true\n    tty: true\n    stdin_open: true\n",
		part: func(s swarm.ServiceSpec) any {
			c := s.TaskTemplate.ContainerSpec
			return swarm.ContainerSpec{Hostname: c.Hostname, User: c.User, Dir: c.Dir, StopSignal: c.StopSignal,
				StopGracePeriod: c.StopGracePeriod, ReadOnly: c.ReadOnly, Init: c.Init, TTY: c.TTY, OpenStdin: c.OpenStdin}
		},
		want: swarm.ContainerSpec{Hostname: "h", User: "1:2", Dir: "/w", StopSignal: "SIGINT", StopGracePeriod: ptr(time.Minute),
			ReadOnly: true, Init: ptr(true), TTY: true, OpenStdin: true},
	}, {
		name: "capabilities normalised",
		yml:  "    cap_add: [net_admin, CAP_CHOWN]\n    cap_drop: [NET_ADMIN, MKNOD]\n",
		part: func(s swarm.ServiceSpec) any {
			return [][]string{s.TaskTemplate.ContainerSpec.CapabilityAdd, s.TaskTemplate.ContainerSpec.CapabilityDrop}
		},
		want: [][]string{{"CAP_CHOWN", "CAP_NET_ADMIN"}, {"CAP_MKNOD"}},
	}, {
		name: "dns and dns_search",
		yml:  "    dns: 1.1.1.1\n    dns_search: [a.example]\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.DNSConfig },
		want: &swarm.DNSConfig{Nameservers: []string{"1.1.1.1"}, Search: []string{"a.example"}},
	}, {
		name: "extra_hosts list keeps its order",
		yml:  "    extra_hosts: [\"z:10.0.0.2\", \"a:10.0.0.1\", \"six:fd00::1\"]\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Hosts },
		want: []string{"10.0.0.2 z", "10.0.0.1 a", "fd00::1 six"},
	}, {
		name: "extra_hosts map is sorted",
		yml:  "    extra_hosts:\n      z: 10.0.0.2\n      a: 10.0.0.1\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Hosts },
		want: []string{"10.0.0.1 a", "10.0.0.2 z"},
	}, {
		name: "ulimits and sysctls",
		yml:  "    ulimits:\n      nproc: 10\n      nofile: {soft: 1, hard: 2}\n    sysctls: [net.core.somaxconn=1024]\n",
		part: func(s swarm.ServiceSpec) any {
			return []any{s.TaskTemplate.ContainerSpec.Ulimits, s.TaskTemplate.ContainerSpec.Sysctls}
		},
		want: []any{[]*container.Ulimit{{Name: "nofile", Soft: 1, Hard: 2}, {Name: "nproc", Soft: 10, Hard: 10}},
			map[string]string{"net.core.somaxconn": "1024"}},
	}, {
		name: "healthcheck",
		yml:  "    healthcheck:\n      test: curl -f x\n      interval: 5s\n      timeout: 1s\n      retries: 3\n      start_period: 2s\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Healthcheck },
		want: &container.HealthConfig{Test: []string{"CMD-SHELL", "curl -f x"}, Interval: 5 * time.Second,
			Timeout: time.Second, Retries: 3, StartPeriod: 2 * time.Second},
	}, {
		name: "healthcheck disabled",
		yml:  "    healthcheck:\n      disable: true\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Healthcheck },
		want: &container.HealthConfig{Test: []string{"NONE"}},
	}, {
		name: "logging",
		yml:  "    logging:\n      driver: json-file\n      options: {max-size: 1m}\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.LogDriver },
		want: &swarm.Driver{Name: "json-file", Options: map[string]string{"max-size": "1m"}},
	}, {
		name: "ports short and long, host mode, udp, ranges",
		yml: "    ports:\n      - \"8080:80\"\n      - \"7000-7001:70-71/udp\"\n      - target: 90\n        published: 9090\n        mode: host\n" +
			"      - \"5000\"\n      - \"6000-6001:60\"\n",
		part: func(s swarm.ServiceSpec) any { return s.EndpointSpec },
		want: &swarm.EndpointSpec{Ports: []swarm.PortConfig{
			{Protocol: "tcp", TargetPort: 5000, PublishMode: "ingress"},
			{Protocol: "tcp", TargetPort: 60, PublishedPort: 6000, PublishMode: "ingress"},
			{Protocol: "tcp", TargetPort: 60, PublishedPort: 6001, PublishMode: "ingress"},
			{Protocol: "udp", TargetPort: 70, PublishedPort: 7000, PublishMode: "ingress"},
			{Protocol: "udp", TargetPort: 71, PublishedPort: 7001, PublishMode: "ingress"},
			{Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress"},
			{TargetPort: 90, PublishedPort: 9090, PublishMode: "host"},
		}},
	}, {
		name: "endpoint_mode",
		yml:  "    deploy:\n      endpoint_mode: DNSRR\n",
		part: func(s swarm.ServiceSpec) any { return s.EndpointSpec },
		want: &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR},
	}, {
		name: "volumes: named, nocopy, driver, external, bind, tmpfs, anonymous",
		yml: "    volumes:\n      - data:/data:nocopy\n      - ext:/ext:ro\n      - /tmp:/host\n      - type: bind\n        source: /srv\n        target: /srv\n        bind: {propagation: rslave}\n" +
			"      - type: tmpfs\n        target: /t\n        tmpfs: {size: 1000}\n      - /anon\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Mounts },
		want: []mount.Mount{
			{Type: "volume", Source: "s_data", Target: "/data", VolumeOptions: &mount.VolumeOptions{NoCopy: true,
				Labels: map[string]string{"l": "v", stack.LabelNamespace: "s"}, DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"type": "tmpfs"}}}},
			{Type: "volume", Source: "outside", Target: "/ext", ReadOnly: true, VolumeOptions: &mount.VolumeOptions{}},
			{Type: "bind", Source: "/tmp", Target: "/host"},
			{Type: "bind", Source: "/srv", Target: "/srv", BindOptions: &mount.BindOptions{Propagation: "rslave"}},
			{Type: "tmpfs", Target: "/t", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1000}},
			{Type: "volume", Target: "/anon"},
		},
	}, {
		name: "networks by name with aliases, sorted by target",
		yml:  "    networks:\n      front:\n        aliases: [www]\n      ext:\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.Networks },
		want: []swarm.NetworkAttachmentConfig{{Target: "outside-net", Aliases: []string{"app"}}, {Target: "s_front", Aliases: []string{"www", "app"}}},
	}, {
		name: "default network",
		yml:  "",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.Networks },
		want: []swarm.NetworkAttachmentConfig{{Target: "s_default", Aliases: []string{"app"}}},
	}, {
		name: "secrets and configs: short and long syntax with docker's defaults",
		yml: "    secrets:\n      - pw\n      - source: named\n        target: /etc/x\n        uid: \"5\"\n        mode: 0400\n" +
			"    configs:\n      - cfg\n",
		part: func(s swarm.ServiceSpec) any {
			return []any{s.TaskTemplate.ContainerSpec.Secrets, s.TaskTemplate.ContainerSpec.Configs}
		},
		want: []any{
			[]*swarm.SecretReference{
				{File: &swarm.SecretReferenceFileTarget{Name: "/etc/x", UID: "5", GID: "0", Mode: 0o400}, SecretName: "custom-name"},
				{File: &swarm.SecretReferenceFileTarget{Name: "pw", UID: "0", GID: "0", Mode: 0o444}, SecretName: "s_pw"},
			},
			[]*swarm.ConfigReference{{File: &swarm.ConfigReferenceFileTarget{Name: "cfg", UID: "0", GID: "0", Mode: 0o444}, ConfigName: "s_cfg"}},
		},
	}, {
		name: "replicated mode with replicas",
		yml:  "    deploy:\n      replicas: 3\n",
		part: func(s swarm.ServiceSpec) any { return s.Mode },
		want: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr[uint64](3)}},
	}, {
		name: "global mode",
		yml:  "    deploy:\n      mode: global\n",
		part: func(s swarm.ServiceSpec) any { return s.Mode },
		want: swarm.ServiceMode{Global: &swarm.GlobalService{}},
	}, {
		name: "replicated job",
		yml:  "    deploy:\n      mode: replicated-job\n      replicas: 2\n",
		part: func(s swarm.ServiceSpec) any { return s.Mode },
		want: swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: ptr[uint64](2), TotalCompletions: ptr[uint64](2)}},
	}, {
		name: "global job",
		yml:  "    deploy:\n      mode: global-job\n",
		part: func(s swarm.ServiceSpec) any { return s.Mode },
		want: swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}},
	}, {
		name: "resources with exact decimal CPUs and pids",
		yml: "    deploy:\n      resources:\n        limits: {cpus: \"0.1\", memory: 50M, pids: 10}\n" +
			"        reservations:\n          cpus: \"0.3\"\n          memory: 1G\n          generic_resources:\n            - discrete_resource_spec: {kind: gpu, value: 2}\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.Resources },
		want: &swarm.ResourceRequirements{
			Limits: &swarm.Limit{NanoCPUs: 100_000_000, MemoryBytes: 50 << 20, Pids: 10},
			Reservations: &swarm.Resources{NanoCPUs: 300_000_000, MemoryBytes: 1 << 30,
				GenericResources: []swarm.GenericResource{{DiscreteResourceSpec: &swarm.DiscreteGenericResource{Kind: "gpu", Value: 2}}}},
		},
	}, {
		name: "restart_policy",
		yml:  "    deploy:\n      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 1m}\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.RestartPolicy },
		want: &swarm.RestartPolicy{Condition: "on-failure", Delay: ptr(5 * time.Second), MaxAttempts: ptr[uint64](3), Window: ptr(time.Minute)},
	}, {
		name: "update_config and rollback_config",
		yml: "    deploy:\n      update_config: {parallelism: 2, delay: 1s, failure_action: rollback, monitor: 3s, max_failure_ratio: 0.5, order: start-first}\n" +
			"      rollback_config: {}\n",
		part: func(s swarm.ServiceSpec) any { return []*swarm.UpdateConfig{s.UpdateConfig, s.RollbackConfig} },
		want: []*swarm.UpdateConfig{
			{Parallelism: 2, Delay: time.Second, FailureAction: "rollback", Monitor: 3 * time.Second, MaxFailureRatio: 0.5, Order: "start-first"},
			{Parallelism: 1},
		},
	}, {
		name: "placement",
		yml:  "    deploy:\n      placement:\n        constraints: [node.role == manager]\n        preferences: [{spread: node.labels.az}]\n        max_replicas_per_node: 2\n",
		part: func(s swarm.ServiceSpec) any { return s.TaskTemplate.Placement },
		want: &swarm.Placement{Constraints: []string{"node.role == manager"},
			Preferences: []swarm.PlacementPreference{{Spread: &swarm.SpreadOver{SpreadDescriptor: "node.labels.az"}}}, MaxReplicas: 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yml := "services:\n  app:\n    image: img:1\n" + tt.yml + fixtures
			d := render(t, yml, map[string]string{"app.env": "FROMVAR\nQUOTED=\"q\"\nKEEP=file\n", "pw.txt": "pw", "cfg.txt": "cfg"},
				stack.Options{Variables: map[string]string{"FROMVAR": "set"}})
			if len(d.Services) != 1 {
				t.Fatalf("got %d services, want 1", len(d.Services))
			}
			if diff := cmp.Diff(tt.want, tt.part(d.Services[0].Spec), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// fixtures are the top-level objects the cases refer to.
const fixtures = `networks:
  front:
  ext:
    external: true
    name: outside-net
volumes:
  data:
    driver: local
    driver_opts: {type: tmpfs}
    labels: {l: v}
  ext:
    external: true
    name: outside
secrets:
  pw:
    file: pw.txt
  named:
    file: pw.txt
    name: custom-name
configs:
  cfg:
    file: cfg.txt
`
