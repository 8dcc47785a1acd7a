package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/flotilla-gitops/flotilla/apply"
	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/sync"
)

// The dashboard's pages, stylesheet and script are in the binary: nothing
// is fetched from anywhere at run time, so it works in an air-gapped swarm.
//
//go:embed ui
var uiFiles embed.FS

// uiAssets are the static files, with the version their URLs carry.
type uiAssets struct {
	files   map[string][]byte
	version string
}

func loadAssets() uiAssets {
	a := uiAssets{files: map[string][]byte{}}
	h := sha256.New()
	for _, name := range []string{"style.css", "app.js"} {
		b, err := fs.ReadFile(uiFiles, "ui/"+name)
		if err != nil {
			panic("the dashboard's embedded " + name + " is missing: " + err.Error())
		}
		a.files[name] = b
		h.Write(b)
	}
	a.version = hex.EncodeToString(h.Sum(nil))[:12]
	return a
}

// serve answers GET /assets/{name}; a URL with the current version is
// cached for good, since a new binary changes the version.
func (a uiAssets) serve(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
	w.Header().Set("Content-Type", types[path.Ext(name)])
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == a.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	_, _ = w.Write(b)
}

// pageNames are the dashboard's pages; each is parsed with the layout.
var pageNames = []string{"overview", "environment", "signin", "message"}

// parsePages parses every page with the layout and the shared parts.
func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.New(name).Funcs(uiFuncs)
		pages[name] = template.Must(t.ParseFS(uiFiles, "ui/layout.html", "ui/parts.html", "ui/"+name+".html"))
	}
	return pages
}

// uiFuncs are the templates' helpers. Times are shown relative to now,
// with the exact UTC time in the element's title.
var uiFuncs = template.FuncMap{
	"ago":   func(t time.Time) string { return ago(time.Now(), t) },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"utc":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"took":  took,
	"short": func(sha string) string { return sha[:min(len(sha), 7)] },
	"mark":  func(a diff.Action) string { return actionMarks[a] },
	// health takes a HealthState or a literal from a template.
	"health":   func(h any) string { return healthLabel(apply.HealthState(fmt.Sprint(h))) },
	"outcome":  outcomeClass,
	"progress": progressLine,
	"failing": func(p *livePass) bool {
		for _, s := range p.Services {
			if s.Phase == apply.PhaseFailed {
				return true
			}
		}
		return false
	},
	"sensitive": func(f diff.Field) bool { return f.Sensitive && f.Old == f.New },
	// sameError: the loop's last error is the last record's, shown there.
	"sameError": func(r row) bool { return r.Last != nil && r.Last.Error == r.LastError },
	// dict passes several values to a template: dict "k1" v1 "k2" v2.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict wants key-value pairs, got %d values", len(kv))
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	},
}

// actionMarks are `flotilla diff`'s markers.
var actionMarks = map[diff.Action]string{diff.ActionCreate: "+", diff.ActionUpdate: "~", diff.ActionReplace: "-/+",
	diff.ActionDelete: "-", diff.ActionConflict: "!"}

func healthLabel(h apply.HealthState) string {
	switch h {
	case apply.Healthy:
		return "Healthy"
	case apply.Progressing:
		return "Progressing"
	case apply.Degraded:
		return "Degraded"
	}
	return "Unknown"
}

// outcomeClass colours an outcome: good, bad or neutral.
func outcomeClass(o sync.Outcome) string {
	switch o {
	case sync.Succeeded:
		return "ok"
	case sync.Interrupted:
		return "warn"
	}
	return "bad"
}

// ago says how far t is from now, in the largest whole unit: "3m ago",
// "in 40s", "2d ago".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, ""
	}
	var s string
	switch {
	case d < 5*time.Second && suffix != "":
		return "just now"
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d.Hours()))
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if suffix == "" {
		return "in " + s
	}
	return s + suffix
}

// took is a pass's duration, rounded for people.
func took(from, to time.Time) string {
	if from.IsZero() || to.Before(from) {
		return ""
	}
	d := to.Sub(from)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// render executes page name with p; a template error is the server's, and
// is answered before anything was written.
func (s *Server) render(w http.ResponseWriter, code int, name string, p *page) {
	s.renderTemplate(w, code, name, "layout", p)
}

// renderTemplate executes one template of a page (the whole layout, or a
// fragment a live update replaces).
func (s *Server) renderTemplate(w http.ResponseWriter, code int, page, tmpl string, data any) {
	var b bytes.Buffer
	if err := s.ui.pages[page].ExecuteTemplate(&b, tmpl, data); err != nil {
		s.log.Error("rendering the dashboard", "page", page, "template", tmpl, "err", err)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry CSRF tokens and what only signed-in people may read.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

// securityHeaders forbid everything the dashboard does not do: scripts,
// styles and connections from elsewhere, inline scripts, framing.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", strings.Join([]string{"default-src 'none'", "script-src 'self'", "style-src 'self'",
		"img-src 'self' data:", "connect-src 'self'", "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'"}, "; "))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}
