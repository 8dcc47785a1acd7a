package stack_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/stack"
)

func policyWith(f func(p *stack.Policy)) stack.Policy {
	p := stack.DefaultPolicy()
	p.Stacks = []string{"prod", "s_x"}
	f(&p)
	return p
}

// TestCheckPolicy renders realistic stack files and checks them against
// the default policy and against policies that allow what they ask for.
func TestCheckPolicy(t *testing.T) {
	const svc = "services:\n  app:\n    image: img\n"
	dflt := policyWith(func(*stack.Policy) {})
	tests := []struct {
		name   string
		yml    string
		policy stack.Policy
		// want lists the violations as "service|object|rule"; empty: allowed.
		want []string
	}{
		{"docker socket refused", svc + "    volumes: [/var/run/docker.sock:/var/run/docker.sock]\n", dflt,
			[]string{"app|bind mount /var/run/docker.sock|bind-mount"}},
		{"docker socket under /run refused", svc + "    volumes: [/run/docker.sock:/s:ro]\n", dflt,
			[]string{"app|bind mount /run/docker.sock|bind-mount"}},
		{"docker socket allowed by name", svc + "    volumes: [/var/run/docker.sock:/var/run/docker.sock]\n",
			policyWith(func(p *stack.Policy) { p.BindMounts = []string{"/var/run/docker.sock"} }), nil},
		{"root refused", svc + "    volumes: [/:/host:ro]\n", dflt, []string{"app|bind mount /|bind-mount"}},
		{"root not opened by a broad allow", svc + "    volumes: [/:/host:ro]\n",
			policyWith(func(p *stack.Policy) { p.BindMounts = []string{"/"} }), []string{"app|bind mount /|bind-mount"}},
		{"a parent of the socket refused", svc + "    volumes: [/var:/v]\n", dflt, []string{"app|bind mount /var|bind-mount"}},
		{"a parent opened by naming what it contains", svc + "    volumes: [/var:/v]\n",
			policyWith(func(p *stack.Policy) { p.BindMounts = []string{"/var", "/var/run/docker.sock", "/var/lib/docker"} }), nil},
		{"/etc refused", svc + "    volumes: [/etc/ssl/certs:/certs:ro]\n", dflt, []string{"app|bind mount /etc/ssl/certs|bind-mount"}},
		{"/etc/ssl/certs allowed by name", svc + "    volumes: [/etc/ssl/certs:/certs:ro]\n",
			policyWith(func(p *stack.Policy) { p.BindMounts = []string{"/srv", "/etc/ssl/certs"} }), nil},
		{"allowing /etc/ssl/certs does not open /etc/passwd", svc + "    volumes: [/etc/passwd:/p:ro]\n",
			policyWith(func(p *stack.Policy) { p.BindMounts = []string{"/etc/ssl/certs"} }), []string{"app|bind mount /etc/passwd|bind-mount"}},
		{"any other path by default", svc + "    volumes: [/srv/data:/data, /var/log/app:/logs]\n", dflt, nil},
		{"outside the allowed prefixes", svc + "    volumes: [/srv/data:/data, /opt/x:/x]\n",
			policyWith(func(p *stack.Policy) { p.BindMounts = []string{"/srv"} }), []string{"app|bind mount /opt/x|bind-mount"}},
		{"a prefix is a directory, not a string", svc + "    volumes: [/srvx:/x]\n",
			policyWith(func(p *stack.Policy) { p.BindMounts = []string{"/srv"} }), []string{"app|bind mount /srvx|bind-mount"}},
		{"dot-dot is cleaned", svc + "    volumes: [\"/srv/../var/run/docker.sock:/s\"]\n", dflt,
			[]string{"app|bind mount /srv/../var/run/docker.sock|bind-mount"}},
		{"the operator's own secrets", svc + "    volumes: [/srv/flotilla/keys:/k]\n",
			policyWith(func(p *stack.Policy) { p.DeniedBindMounts = append(p.DeniedBindMounts, "/srv/flotilla") }),
			[]string{"app|bind mount /srv/flotilla/keys|bind-mount"}},
		{"a local volume binding /etc", svc + "    volumes: [cfg:/cfg]\nvolumes:\n  cfg:\n    driver_opts: {type: none, o: bind, device: /etc}\n", dflt,
			[]string{"app|volume s_cfg (a local bind of /etc)|bind-mount"}},
		{"a local volume binding /srv", svc + "    volumes: [cfg:/cfg]\nvolumes:\n  cfg:\n    driver_opts: {type: none, o: \"rbind,ro\", device: /srv/cfg}\n", dflt, nil},
		{"tmpfs and volumes are not binds", svc + "    volumes: [{type: tmpfs, target: /t}, data:/data]\nvolumes:\n  data:\n", dflt, nil},
		{"cap_add refused", svc + "    cap_add: [NET_ADMIN, SYS_ADMIN]\n", dflt,
			[]string{"app|cap_add CAP_NET_ADMIN|capabilities", "app|cap_add CAP_SYS_ADMIN|capabilities"}},
		{"cap_add allowed one by one", svc + "    cap_add: [NET_ADMIN, SYS_ADMIN]\n",
			policyWith(func(p *stack.Policy) { p.Capabilities = []string{"cap_net_admin"} }), []string{"app|cap_add CAP_SYS_ADMIN|capabilities"}},
		{"cap_add ALL needs ALL", svc + "    cap_add: [ALL]\n",
			policyWith(func(p *stack.Policy) { p.Capabilities = []string{"NET_ADMIN"} }), []string{"app|cap_add ALL|capabilities"}},
		{"capabilities ALL allows any", svc + "    cap_add: [ALL]\n", policyWith(func(p *stack.Policy) { p.Capabilities = []string{"ALL"} }), nil},
		{"cap_drop is always fine", svc + "    cap_drop: [ALL]\n", dflt, nil},
		{"host network refused", svc + "    networks: [hostnet]\nnetworks:\n  hostnet:\n    external: true\n    name: host\n", dflt,
			[]string{"app|network host|host-network"}},
		{"host network allowed", svc + "    networks: [hostnet]\nnetworks:\n  hostnet:\n    external: true\n    name: host\n",
			policyWith(func(p *stack.Policy) { p.HostNetwork = true }), nil},
		{"privileged keys refused", svc + "    privileged: true\n    devices: [/dev/sda:/dev/sda]\n    security_opt: [no-new-privileges:true]\n", dflt,
			[]string{"app|key devices|privileged", "app|key privileged|privileged"}},
		{"privileged keys allowed", svc + "    privileged: true\n", policyWith(func(p *stack.Policy) { p.Privileged = true }), nil},
		{"external secret refused", svc + "    secrets: [db]\nsecrets:\n  db:\n    external: true\n    name: shared_db\n", dflt,
			[]string{"app|external secret shared_db|external"}},
		{"external secret allowed by a pattern", svc + "    secrets: [db]\nsecrets:\n  db:\n    external: true\n    name: shared_db\n",
			policyWith(func(p *stack.Policy) { p.ExternalSecrets = []string{"shared_*"} }), nil},
		{"another stack's secret refused", svc + "    secrets: [db]\nsecrets:\n  db:\n    external: true\n    name: prod_db\n",
			policyWith(func(p *stack.Policy) { p.ExternalSecrets = []string{"shared_*"} }), []string{"app|external secret prod_db|other-stack"}},
		{"another stack's secret not reached by a pattern", svc + "    secrets: [db]\nsecrets:\n  db:\n    external: true\n    name: prod_db\n",
			policyWith(func(p *stack.Policy) { p.ExternalSecrets = []string{"*"} }), []string{"app|external secret prod_db|other-stack"}},
		{"another stack's network allowed by its exact name", svc + "    networks: [proxy]\nnetworks:\n  proxy:\n    external: true\n    name: prod_public\n",
			policyWith(func(p *stack.Policy) { p.ExternalNetworks = []string{"prod_public"} }), nil},
		{"a versioned name refused even when a pattern matches", svc + "    secrets: [db]\nsecrets:\n  db:\n    external: true\n    name: shop_db_abcdefgh2345\n",
			policyWith(func(p *stack.Policy) { p.ExternalSecrets = []string{"shop_*"} }), []string{"app|external secret shop_db_abcdefgh2345|other-stack"}},
		{"the longest stack prefix owns a name", svc + "    configs: [c]\nconfigs:\n  c:\n    external: true\n    name: s_x_conf\n",
			policyWith(func(p *stack.Policy) { p.ExternalConfigs = []string{"s_*"} }), []string{"app|external config s_x_conf|other-stack"}},
		{"external volume refused", svc + "    volumes: [data:/data]\nvolumes:\n  data:\n    external: true\n    name: prod_data\n", dflt,
			[]string{"app|external volume prod_data|other-stack"}},
		{"a name: in another stack's namespace", svc + "    secrets: [db]\nsecrets:\n  db:\n    file: db.txt\n    name: prod_db\n", dflt,
			[]string{"app|secret prod_db|other-stack"}},
		{"the stack's own objects", svc + "    secrets: [db]\n    configs: [c]\n    networks: [back]\nsecrets:\n  db:\n    file: db.txt\nconfigs:\n  c:\n    file: db.txt\nnetworks:\n  back:\n", dflt, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := render(t, tt.yml, map[string]string{"db.txt": "x"}, stack.Options{})
			err := stack.CheckPolicy(d, tt.policy)
			var got []string
			if err != nil {
				pe, ok := errors.AsType[*stack.PolicyError](err)
				if !ok {
					t.Fatalf("error %v is not a *stack.PolicyError", err)
				}
				for _, v := range pe.Violations {
					got = append(got, v.Service+"|"+v.Object+"|"+string(v.Rule))
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestPolicyErrorNamesFileServiceAndRule: the message is for the person
// who pushed the commit.
func TestPolicyErrorNamesFileServiceAndRule(t *testing.T) {
	d := render(t, "services:\n  web:\n    image: img\n    volumes: [/var/run/docker.sock:/var/run/docker.sock]\n", nil, stack.Options{})
	err := stack.CheckPolicy(d, stack.DefaultPolicy())
	if err == nil {
		t.Fatal("the docker socket passed the default policy")
	}
	for _, w := range []string{"stack.yml", "stack s", `policy "default"`, "service web", "bind mount /var/run/docker.sock", "bind-mount", "policy.bindMounts"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
