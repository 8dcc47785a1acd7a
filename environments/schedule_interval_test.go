package environments

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func loadString(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "flotilla.yml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(file)
}

func TestIntervalsAndSchedules(t *testing.T) {
	t.Parallel()
	c, err := loadString(t, base+`defaults: {interval: 2m}
environments:
  a: {repo: shop, branch: a, files: [s.yml], stack: a}
  b: {repo: shop, branch: b, files: [s.yml], stack: b, interval: 30s}
  c: {repo: shop, branch: c, files: [s.yml], stack: c, schedule: "*/5 * * * *"}
`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env      string
		schedule string
		interval time.Duration
	}{
		{"a", "@every 2m0s", 2 * time.Minute}, // defaults' interval
		{"b", "@every 30s", 30 * time.Second},
		{"c", "*/5 * * * *", 0}, // its own cron schedule wins over defaults' interval
	}
	for _, tt := range tests {
		e, err := c.Environment(tt.env)
		if err != nil {
			t.Fatal(err)
		}
		if e.Schedule != tt.schedule || e.Interval != tt.interval {
			t.Errorf("%s: schedule %q interval %s, want %q %s", tt.env, e.Schedule, e.Interval, tt.schedule, tt.interval)
		}
		if _, err := scheduleParser.Parse(e.Schedule); err != nil {
			t.Errorf("%s: the cron library refuses %q: %v", tt.env, e.Schedule, err)
		}
	}

	c, err = loadString(t, base+`defaults: {schedule: "@hourly"}
environments:
  a: {repo: shop, branch: a, files: [s.yml], stack: a}
`)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := c.Environment("a"); e.Schedule != "@hourly" || e.Interval != 0 {
		t.Errorf("defaults' schedule not inherited: %q %s", e.Schedule, e.Interval)
	}
}

func TestIntervalProblems(t *testing.T) {
	t.Parallel()
	_, err := loadString(t, base+`defaults:
  schedule: "@hourly"
  interval: 1m
environments:
  a: {repo: shop, branch: a, files: [s.yml], stack: a, interval: 1s}
  b:
    repo: shop
    branch: b
    files: [s.yml]
    stack: b
    schedule: "@every 1m"
    interval: 1m
  c: {repo: shop, branch: c, files: [s.yml], stack: c, interval: 1 minute}
  d: {repo: shop, branch: d, files: [s.yml], stack: d, interval: -5m}
`)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load() = %v, want Problems", err)
	}
	want := []wantProblem{
		{5, "defaults: give schedule (cron) or interval (a duration), not both"},
		{7, `environment "a": interval 1s is shorter than 5s`},
		{14, `environment "b": give schedule (cron) or interval (a duration), not both`},
		{15, `environment "c" interval: "1 minute" is not a positive duration`},
		{16, `environment "d" interval: "-5m" is not a positive duration`},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
	for _, w := range want {
		if !hasProblem(ps, w) {
			t.Errorf("no problem on line %d containing %q; got:\n%v", w.line, w.msg, err)
		}
	}
}
