package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/sync"
)

// page is what every dashboard page shows around its content.
type page struct {
	Title string
	Page  string // overview, environment, signin, message
	Env   string // the environment page's
	// Since is the live event number the page is current with.
	Since  uint64
	Assets string
	Viewer viewerView
	Body   any
}

// viewerView is who looks, as the pages need it.
type viewerView struct {
	SignedIn  bool
	Access    string // "write", "read-only" or "public"
	CSRF      string
	CanSignIn bool
	CanWrite  bool
	// WriteReason says why the action buttons are disabled.
	WriteReason string
	Path        string // the page's own path, for sign-in's return
}

// row is one environment on the overview, and the head of its page.
type row struct {
	Name, Stack, Cluster, Branch, Ref string
	Deployed                          *Commit
	DeployedAt                        time.Time
	DeployedURL                       string
	Tip                               *Commit
	TipURL                            string
	GitMoved, TipQuarantined          bool
	Health                            apply.HealthState
	HealthReason                      string
	Drift                             int
	Pin                               *sync.Pin
	Last                              *Record
	Running                           *livePass
	NextSync                          time.Time
	Window                            string
	LastError                         string
	NextRetry                         time.Time
	Errors                            []string
	// Tags are the statuses the filter knows the row by.
	Tags   []string
	Hidden bool
}

// TagList is the row's tags for its data attribute.
func (r row) TagList() string { return strings.Join(r.Tags, " ") }

// Search is what the name filter matches.
func (r row) Search() string {
	return strings.ToLower(strings.Join([]string{r.Name, r.Stack, r.Cluster, r.Branch}, " "))
}

// statusFilters are the overview's filter choices, in order.
var statusFilters = []struct{ Key, Label string }{
	{"", "All"},
	{"attention", "Needs attention"},
	{"degraded", "Degraded"},
	{"progressing", "Progressing"},
	{"failed", "Last deploy failed"},
	{"drifted", "Drifted"},
	{"pinned", "Pinned"},
	{"quarantined", "Quarantined tip"},
	{"syncing", "Syncing now"},
	{"healthy", "Healthy"},
}

// filterChoice is one option of the status filter.
type filterChoice struct {
	Key, Label string
	N          int
	Selected   bool
}

// overview is the body of /.
type overview struct {
	Rows     []row
	Query    string
	Status   string
	Choices  []filterChoice
	Visible  int
	Problems int
}

// envView is the body of an environment's page.
type envView struct {
	Row       row
	Repo      string
	Schedule  string
	SelfHeal  string
	OnFailure string
	Services  []ServiceHealth
	Drift     []Change
	Plan      *lastPlan
	History   []entry
	// HistoryError says why the history could not be read.
	HistoryError string
	Notice       string
	Viewer       viewerView
}

// entry is one record of the history timeline.
type entry struct {
	Record
	URL         string
	Took        string
	Current     bool
	CanRollBack bool
}

// rowOf builds env's row from its status as the viewer may see it; the
// status too, when it could be read.
func (s *Server) rowOf(ctx context.Context, env string, v viewer) (row, *EnvironmentStatus) {
	r := row{Name: env}
	cfg := s.op.Config()
	var repoURL string
	if cfg != nil {
		if e, err := cfg.Environment(env); err == nil {
			r.Stack, r.Cluster, r.Branch, r.Ref, repoURL = e.Stack, e.Cluster.Name, e.Branch, e.Ref, e.Repo.URL
		}
	}
	running, _, _ := s.live.state(env)
	r.Running = running
	if n, ok := s.op.(interface{ NextSync(string) time.Time }); ok {
		r.NextSync = n.NextSync(env)
	}
	st, err := s.op.Status(ctx, env)
	if err != nil {
		r.Errors = []string{err.Error()}
		if v.public() {
			r.Errors = hideErrors(r.Errors)
		}
		r.Tags = tagsOf(r)
		return r, nil
	}
	out := s.statusView(st, v)
	r.Stack, r.Ref = out.Stack, out.Ref
	if out.Deployed != nil {
		c := out.Deployed.Commit
		r.Deployed, r.DeployedAt, r.DeployedURL = &c, out.Deployed.Finished, forgeCommitURL(repoURL, c.SHA)
	}
	if out.Tip != nil {
		r.Tip, r.TipURL = out.Tip, forgeCommitURL(repoURL, out.Tip.SHA)
	}
	r.GitMoved, r.TipQuarantined, r.Drift, r.Pin = out.GitMoved, out.TipQuarantined, len(out.Drift), out.Pin
	if out.Health != nil {
		r.Health, r.HealthReason = out.Health.State, out.Health.Reason
	}
	r.Last, r.Window, r.LastError, r.NextRetry, r.Errors = out.Last, out.Window, out.LastError, out.NextRetry, out.Errors
	r.Tags = tagsOf(r)
	return r, &out
}

// statusView is st on the wire, masked, and hidden as the viewer needs.
func (s *Server) statusView(st *sync.Status, v viewer) EnvironmentStatus {
	out := StatusOf(st)
	patterns := s.sensitive()
	for i := range out.Drift {
		out.Drift[i].Fields = diff.MaskFields(out.Drift[i].Fields, patterns)
	}
	if v.public() {
		hideStatus(&out)
	}
	return out
}

// tagsOf is what the status filter knows a row by.
func tagsOf(r row) []string {
	var tags []string
	add := func(ok bool, tag string) {
		if ok {
			tags = append(tags, tag)
		}
	}
	failed := r.Last != nil && r.Last.Outcome != sync.Succeeded
	problem := r.Health == apply.Degraded || failed || r.Drift > 0 || r.TipQuarantined || len(r.Errors) > 0 || r.LastError != ""
	add(problem, "attention")
	add(r.Health == apply.Degraded, "degraded")
	add(r.Health == apply.Progressing, "progressing")
	add(failed, "failed")
	add(r.Drift > 0, "drifted")
	add(r.Pin != nil, "pinned")
	add(r.TipQuarantined, "quarantined")
	add(r.Running != nil, "syncing")
	add(r.Health == apply.Healthy && !problem, "healthy")
	return tags
}

// overviewOf reads every environment's row, a few at a time (each reads
// history, Git and the cluster), and applies the filter of r's query.
func (s *Server) overviewOf(r *http.Request, v viewer) overview {
	var names []string
	if cfg := s.op.Config(); cfg != nil {
		names = cfg.EnvironmentNames()
	}
	o := overview{Rows: make([]row, len(names)), Query: strings.TrimSpace(r.URL.Query().Get("q")), Status: r.URL.Query().Get("status")}
	var wg gosync.WaitGroup
	sem := make(chan struct{}, statusParallel)
	for i, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			o.Rows[i], _ = s.rowOf(r.Context(), name, v)
		})
	}
	wg.Wait()
	counts := map[string]int{"": len(o.Rows)}
	q := strings.ToLower(o.Query)
	for i := range o.Rows {
		row := &o.Rows[i]
		for _, t := range row.Tags {
			counts[t]++
		}
		row.Hidden = !strings.Contains(row.Search(), q) || (o.Status != "" && !slices.Contains(row.Tags, o.Status))
		if !row.Hidden {
			o.Visible++
		}
	}
	o.Problems = counts["attention"]
	for _, f := range statusFilters {
		o.Choices = append(o.Choices, filterChoice{Key: f.Key, Label: f.Label, N: counts[f.Key], Selected: f.Key == o.Status})
	}
	return o
}

// envViewOf reads env's page.
func (s *Server) envViewOf(r *http.Request, env string, v viewer) envView {
	row, out := s.rowOf(r.Context(), env, v)
	ev := envView{Row: row, Viewer: s.viewerView(r, v)}
	cfg := s.op.Config()
	var repoURL string
	if cfg != nil {
		if e, err := cfg.Environment(env); err == nil {
			repoURL = e.Repo.URL
			ev.Repo, ev.Schedule, ev.SelfHeal, ev.OnFailure = displayRepo(repoURL), e.Schedule, string(e.SelfHeal), string(e.OnFailure)
		}
	}
	if out != nil {
		ev.Drift = out.Drift
		if out.Health != nil {
			ev.Services = out.Health.Services
		}
	}
	_, plan, _ := s.live.state(env)
	if plan != nil {
		masked := *plan
		masked.Changes = make([]Change, len(plan.Changes))
		for i, c := range plan.Changes {
			c.Fields = diff.MaskFields(c.Fields, s.sensitive())
			masked.Changes[i] = c
		}
		if v.public() {
			hideCommit(&masked.Commit)
		}
		ev.Plan = &masked
	}
	records, err := s.op.History(r.Context(), env)
	if err != nil {
		ev.HistoryError = err.Error()
		if v.public() {
			ev.HistoryError = hiddenError
		}
	}
	var deployed string
	if ev.Row.Deployed != nil {
		deployed = ev.Row.Deployed.SHA
	}
	for i := len(records) - 1; i >= 0; i-- {
		rec := RecordOf(&records[i])
		if v.public() {
			hideRecord(rec)
		}
		e := entry{Record: *rec, URL: forgeCommitURL(repoURL, rec.Commit.SHA), Took: took(rec.Started, rec.Finished)}
		e.Current = rec.Outcome == sync.Succeeded && rec.Commit.SHA == deployed && !slices.ContainsFunc(ev.History, func(x entry) bool { return x.Current })
		e.CanRollBack = rec.Outcome == sync.Succeeded && rec.Commit.SHA != "" && rec.Commit.SHA != deployed
		ev.History = append(ev.History, e)
	}
	notices := map[string]string{
		"sync":     "Sync of " + env + " queued: it runs after any pass under way.",
		"force":    "Forced sync of " + env + " queued: it applies the branch tip even if quarantined, and overrides a closed sync window.",
		"rollback": "Rollback of " + env + " queued: it pins the environment, then deploys the chosen commit.",
		"resume":   "Resume of " + env + " queued: the pin is lifted and a pass from the branch tip follows.",
	}
	ev.Notice = notices[r.URL.Query().Get("queued")]
	return ev
}
