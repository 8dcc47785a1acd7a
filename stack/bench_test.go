package stack_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/flotilla-gitops/flotilla/stack"
)

// BenchmarkLoad renders a 100-service stack with the usual keys on each.
func BenchmarkLoad(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("version: \"3.8\"\nservices:\n")
	for i := range 100 {
		fmt.Fprintf(&sb, `  svc%03d:
    image: registry.example/app:${TAG:-v1}
    command: ["/app", "--port", "%d"]
    environment:
      PORT: "%d"
      LEVEL: info
    ports:
      - target: %d
        published: %d
        mode: host
    networks: [back]
    secrets: [db]
    configs: [conf]
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD", "/app", "healthcheck"]
      interval: 10s
    deploy:
      replicas: 2
      resources:
        limits: {cpus: "0.5", memory: 128M}
      update_config: {parallelism: 1, order: start-first, failure_action: rollback}
      placement:
        constraints: [node.role == worker]
`, i, 8000+i, 8000+i, 8000+i, 30000+i)
	}
	sb.WriteString("networks:\n  back:\nvolumes:\n  data:\nsecrets:\n  db:\n    file: db.txt\nconfigs:\n  conf:\n    file: app.conf\n")
	fsys := fstest.MapFS{
		"stack.yml": {Data: []byte(sb.String())},
		"db.txt":    {Data: []byte("pw")},
		"app.conf":  {Data: []byte("x=1")},
	}
	opts := stack.Options{Files: []string{"stack.yml"}, Stack: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		d, err := stack.Load(b.Context(), fsys, opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Services) != 100 {
			b.Fatalf("%d services, want 100", len(d.Services))
		}
	}
}
