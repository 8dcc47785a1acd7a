package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

// benchOperator has 50 environments with 50 history records each, three
// services and two drifted objects apiece.
func benchOperator() *fakeOperator {
	op := newFakeOperator()
	op.cfg.Repos["shop"].URL = "https://github.com/acme/shop.git"
	op.cfg.Environments = map[string]*environments.EnvironmentSpec{}
	for i := range 50 {
		name := fmt.Sprintf("env%02d", i)
		op.cfg.Environments[name] = &environments.EnvironmentSpec{Name: name, Repo: "shop", Branch: name, Stack: "shop-" + name}
		var records []sync.Record
		for j := range 50 {
			rev := sync.Revision{SHA: fmt.Sprintf("%040x", i*1000+j), Ref: "refs/heads/" + name, Branch: name,
				AuthorName: "Ada", AuthorEmail: "ada@example.com", Date: testTime.Add(time.Duration(j) * time.Hour), Subject: fmt.Sprintf("api: v%d", j)}
			rec := sync.Record{Seq: int64(j), Environment: name, Stack: "shop-" + name, Commit: rev, Trigger: sync.TriggerWebhook,
				Plan: "Plan: 0 to create, 2 to update, 0 to delete.", Changes: []string{"update service shop_api", "update service shop_web"},
				Outcome: sync.Succeeded, Started: rev.Date, Finished: rev.Date.Add(40 * time.Second), LastGood: rev.SHA}
			if j%7 == 3 {
				rec.Outcome, rec.Error = sync.RolledBack, "services failed: shop_api: 3 tasks failed: task: non-zero exit (1)"
			}
			records = append(records, rec)
		}
		op.history[name] = records
		last := records[len(records)-1]
		var services []apply.ServiceHealth
		for _, svc := range []string{"api", "web", "worker"} {
			services = append(services, apply.ServiceHealth{Name: "shop-" + name + "_" + svc, Image: "acme/" + svc + ":v49",
				State: apply.Healthy, Running: 3, Desired: 3})
		}
		op.status[name] = &sync.Status{Environment: name, Stack: "shop-" + name, Ref: "refs/heads/" + name, Deployed: &last, Last: &last,
			Tip: &last.Commit, Health: &apply.StackHealth{State: apply.Healthy, Services: services},
			Drift: []diff.Change{
				{Kind: diff.KindService, Name: "shop-" + name + "_api", Action: diff.ActionUpdate, Fields: []diff.Field{{Path: "Mode.Replicated.Replicas", Old: "3", New: "5"}}},
				{Kind: diff.KindService, Name: "shop-" + name + "_web", Action: diff.ActionUpdate, Fields: []diff.Field{{Path: "TaskTemplate.ContainerSpec.Env[API_TOKEN]", Old: "a", New: "b"}}},
			}}
	}
	return op
}

// BenchmarkDashboard measures the server's time to render the overview
// and one environment's page (50 environments of 50 records), from request
// to the last byte, with an operator that answers at once: what the
// dashboard itself costs.
func BenchmarkDashboard(b *testing.B) {
	op := benchOperator()
	tokenFile := b.TempDir() + "/token"
	if err := writeFile(tokenFile, testToken); err != nil {
		b.Fatal(err)
	}
	s, err := New(&environments.Server{TokenFile: tokenFile}, op, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	for _, page := range []struct{ name, path string }{{"overview", "/"}, {"environment", "/environments/env25"}} {
		b.Run(page.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				req := httptest.NewRequestWithContext(b.Context(), http.MethodGet, page.path, nil)
				req.Header.Set("Authorization", "Bearer "+testToken)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", page.path, rec.Code)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size)/1024, "KiB/page")
		})
	}
}
