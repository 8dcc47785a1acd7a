package stack_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flotilla-gitops/flotilla/stack"
)

// Values interpolated from variables, or quoted, at the keys that take
// numbers and booleans render as if written plainly: the casts Flotilla
// keeps of compose-go's are applied.
func TestInterpolatedNumbersAndBooleansAreCast(t *testing.T) {
	t.Parallel()
	tmpl := `services:
  web:
    image: app:v1
    init: INIT
    read_only: RO
    tty: TTY
    stdin_open: STDIN
    ports:
      - {target: TARGET, published: 8080, mode: host}
    healthcheck: {test: ["CMD", "/app"], retries: RETRIES}
    ulimits:
      nofile: {soft: SOFT, hard: HARD}
      nproc: NPROC
    volumes:
      - {type: volume, source: data, target: /data, read_only: VRO}
    networks: [back, ext]
    deploy:
      replicas: REPLICAS
      update_config: {parallelism: PAR, max_failure_ratio: RATIO}
      rollback_config: {parallelism: PAR, max_failure_ratio: RATIO}
      restart_policy: {max_attempts: ATTEMPTS}
      placement: {max_replicas_per_node: PERNODE}
networks:
  back: {attachable: ATTACH, internal: INTERNAL}
  ext: {external: EXTERNAL}
volumes:
  data:
`
	values := map[string]string{"INIT": "true", "RO": "true", "TTY": "true", "STDIN": "false", "TARGET": "80", "RETRIES": "4",
		"SOFT": "1024", "HARD": "2048", "NPROC": "64", "VRO": "true", "REPLICAS": "3", "PAR": "2", "RATIO": "0.25",
		"ATTEMPTS": "5", "PERNODE": "1", "ATTACH": "true", "INTERNAL": "false", "EXTERNAL": "true"}
	fill := func(f func(key, value string) string) string {
		s := tmpl
		for k, v := range values {
			s = strings.ReplaceAll(s, " "+k+",", " "+f(k, v)+",")
			s = strings.ReplaceAll(s, " "+k+"}", " "+f(k, v)+"}")
			s = strings.ReplaceAll(s, " "+k+"\n", " "+f(k, v)+"\n")
		}
		return s
	}
	plain := render(t, fill(func(_, v string) string { return v }), nil, stack.Options{})
	vars := render(t, fill(func(k, _ string) string { return `"${` + k + `}"` }), nil, stack.Options{Variables: values})
	quoted := render(t, fill(func(_, v string) string { return `"` + v + `"` }), nil, stack.Options{})
	if diff := cmp.Diff(plain, vars); diff != "" {
		t.Errorf("interpolated values render differently from plain ones (-plain +interpolated):\n%s", diff)
	}
	if diff := cmp.Diff(plain, quoted); diff != "" {
		t.Errorf("quoted values render differently from plain ones (-plain +quoted):\n%s", diff)
	}
	if r := plain.Services[0].Spec.Mode.Replicated; r == nil || *r.Replicas != 3 {
		t.Errorf("replicas: %+v", r)
	}
}
