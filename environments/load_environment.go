package environments

import (
	"fmt"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

func (r *reader) environment(name string, n *yaml.Node) *EnvironmentSpec {
	s := &EnvironmentSpec{Name: name, at: fieldPos{}}
	what := fmt.Sprintf("environment %q", name)
	// Items of lists are recorded as "key.N" so a problem with one item
	// points at its own line.
	items := func(key string, dst *[]string, resolvePaths bool) func(*yaml.Node) {
		return func(v *yaml.Node) {
			list, at := r.strList(v, what+" "+key)
			for i, item := range list {
				if resolvePaths && !filepath.IsAbs(item) {
					item = filepath.Join(r.dir, item)
				}
				*dst = append(*dst, item)
				s.at[fmt.Sprintf("%s.%d", key, i)] = at[i]
			}
		}
	}
	r.mapping(n, what, s.at, map[string]func(*yaml.Node){
		"repo":             func(v *yaml.Node) { s.Repo = r.str(v, what+" repo") },
		"branch":           func(v *yaml.Node) { s.Branch = r.str(v, what+" branch") },
		"ref":              func(v *yaml.Node) { s.Ref = r.str(v, what+" ref") },
		"path":             func(v *yaml.Node) { s.Path = r.str(v, what+" path") },
		"files":            items("files", &s.Files, false),
		"envFiles":         items("envFiles", &s.EnvFiles, false),
		"identities":       items("identities", &s.Identities, true),
		"stack":            func(v *yaml.Node) { s.Stack = r.str(v, what+" stack") },
		"cluster":          func(v *yaml.Node) { s.Cluster = r.str(v, what+" cluster") },
		"variables":        func(v *yaml.Node) { s.Variables = r.strMap(v, what+" variables") },
		"prune":            func(v *yaml.Node) { s.Prune = r.boolean(v, what+" prune") },
		"onFailure":        func(v *yaml.Node) { s.OnFailure = OnFailure(r.str(v, what+" onFailure")) },
		"progressDeadline": func(v *yaml.Node) { s.ProgressDeadline = r.duration(v, what+" progressDeadline") },
		"schedule":         func(v *yaml.Node) { s.Schedule = r.str(v, what+" schedule") },
		"interval":         func(v *yaml.Node) { s.Interval = r.duration(v, what+" interval") },
		"selfHeal":         func(v *yaml.Node) { s.SelfHeal = SelfHeal(r.str(v, what+" selfHeal")) },
		"policy":           func(v *yaml.Node) { s.Policy = r.policySpec(v, "environments."+name+".policy") },
		"resolveImage":     func(v *yaml.Node) { s.ResolveImage = ResolveImage(r.str(v, what+" resolveImage")) },
		"watchImages":      func(v *yaml.Node) { s.WatchImages = r.boolean(v, what+" watchImages") },
		"syncWindows": func(v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				r.add(posOf(v), "%s syncWindows must be a list, not %s", what, kindName(v))
				return
			}
			for _, item := range v.Content {
				s.SyncWindows = append(s.SyncWindows, r.syncWindow(what, resolve(item)))
			}
		},
	})
	return s
}

func (r *reader) syncWindow(env string, n *yaml.Node) *SyncWindow {
	w := &SyncWindow{at: fieldPos{}}
	what := env + " sync window"
	r.mapping(n, what, w.at, map[string]func(*yaml.Node){
		"kind":     func(v *yaml.Node) { w.Kind = SyncWindowKind(r.str(v, what+" kind")) },
		"schedule": func(v *yaml.Node) { w.Schedule = r.str(v, what+" schedule") },
		"duration": func(v *yaml.Node) { w.Duration = r.duration(v, what+" duration") },
	})
	return w
}

func (r *reader) server(n *yaml.Node) *Server {
	s := &Server{at: fieldPos{}}
	r.mapping(n, "server", s.at, map[string]func(*yaml.Node){
		"listen":        func(v *yaml.Node) { s.Listen = r.str(v, "server.listen") },
		"tokenFile":     func(v *yaml.Node) { s.TokenFile = r.path(v, "server.tokenFile") },
		"readTokenFile": func(v *yaml.Node) { s.ReadTokenFile = r.path(v, "server.readTokenFile") },
		"publicRead": func(v *yaml.Node) {
			if b := r.boolean(v, "server.publicRead"); b != nil {
				s.PublicRead = *b
			}
		},
		"ui": func(v *yaml.Node) { s.UI = r.boolean(v, "server.ui") },
		"tls": func(v *yaml.Node) {
			t := &ServerTLS{at: fieldPos{}}
			s.TLS = t
			r.mapping(v, "server.tls", t.at, map[string]func(*yaml.Node){
				"certFile": func(v *yaml.Node) { t.CertFile = r.path(v, "server.tls.certFile") },
				"keyFile":  func(v *yaml.Node) { t.KeyFile = r.path(v, "server.tls.keyFile") },
			})
		},
		"webhooks": func(v *yaml.Node) {
			s.Webhooks = map[WebhookKind]*Webhook{}
			hook := func(kind WebhookKind) func(*yaml.Node) {
				return func(v *yaml.Node) {
					h := &Webhook{at: fieldPos{}}
					what := "server.webhooks." + string(kind)
					r.mapping(v, what, h.at, map[string]func(*yaml.Node){
						"secretFile": func(v *yaml.Node) { h.SecretFile = r.path(v, what+".secretFile") },
					})
					s.Webhooks[kind] = h
				}
			}
			r.mapping(v, "server.webhooks", nil, map[string]func(*yaml.Node){
				string(GitHub):  hook(GitHub),
				string(GitLab):  hook(GitLab),
				string(Gitea):   hook(Gitea),
				string(Generic): hook(Generic),
			})
		},
	})
	return s
}

func (r *reader) notification(n *yaml.Node) *Notification {
	nt := &Notification{at: fieldPos{}}
	const what = "notification"
	r.mapping(n, what, nt.at, map[string]func(*yaml.Node){
		"type":         func(v *yaml.Node) { nt.Type = NotificationType(r.str(v, what+" type")) },
		"url":          func(v *yaml.Node) { nt.URL = r.str(v, what+" url") },
		"urlFile":      func(v *yaml.Node) { nt.URLFile = r.path(v, what+" urlFile") },
		"environments": func(v *yaml.Node) { nt.Environments, _ = r.strList(v, what+" environments") },
		"events":       func(v *yaml.Node) { nt.Events, _ = r.strList(v, what+" events") },
	})
	return nt
}
