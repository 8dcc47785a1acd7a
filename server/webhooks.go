package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/sync"
)

// maxHookBody caps a webhook's body; forges send far less for a push.
const maxHookBody = 1 << 20

// Webhook results, the values of the result label.
const (
	hookAccepted      = "accepted"
	hookIgnored       = "ignored"
	hookUnauthorized  = "unauthorized"
	hookTooLarge      = "too_large"
	hookBadRequest    = "bad_request"
	hookNotConfigured = "not_configured"
	hookError         = "error"
	hookDuplicate     = "duplicate"
)

func (s *Server) hookRoutes(mux *http.ServeMux) {
	for _, kind := range []environments.WebhookKind{environments.GitHub, environments.GitLab, environments.Gitea, environments.Generic} {
		mux.HandleFunc("POST /hooks/"+string(kind), s.hook(kind))
	}
}

// HookAnswer is the body of a webhook's answer.
type HookAnswer struct {
	Triggered []string `json:"triggered"`
	Message   string   `json:"message"`
}

// hook verifies, parses and acts on one forge's events. The signature is
// checked before anything in the body is looked at.
func (s *Server) hook(kind environments.WebhookKind) http.HandlerFunc {
	provider := string(kind)
	return func(w http.ResponseWriter, r *http.Request) {
		log := s.log.With("provider", provider)
		secret, ok := s.hooks[kind]
		if !ok {
			s.metrics.webhook(provider, hookNotConfigured)
			writeError(w, http.StatusNotFound, "no "+provider+" webhook is configured")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
		if err != nil {
			if _, big := errors.AsType[*http.MaxBytesError](err); big {
				s.metrics.webhook(provider, hookTooLarge)
				log.Warn("webhook refused: body over 1 MiB")
				writeError(w, http.StatusRequestEntityTooLarge, "body over 1 MiB")
				return
			}
			s.metrics.webhook(provider, hookBadRequest)
			writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
			return
		}
		if !verify(kind, r.Header, body, secret.Bytes()) {
			s.metrics.webhook(provider, hookUnauthorized)
			log.Warn("webhook refused: bad or missing signature", "remote", r.RemoteAddr)
			writeError(w, http.StatusUnauthorized, "bad or missing signature")
			return
		}
		// Only after the signature: IDs from strangers must not fill the
		// memory of deliveries and turn real ones away.
		if id := deliveryID(kind, r.Header); id != "" {
			if !s.deliveries.reserve(id) {
				s.metrics.webhook(provider, hookDuplicate)
				log.Info("webhook: delivery already handled", "delivery", id)
				writeJSON(w, http.StatusOK, HookAnswer{Triggered: []string{}, Message: "this delivery was already handled: nothing to do"})
				return
			}
			rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
			w = rec
			defer func() {
				// A failed delivery is forgotten, so the forge's retry acts.
				if rec.code < 300 {
					s.deliveries.done(id)
				} else {
					s.deliveries.release(id)
				}
			}()
		}
		switch event := eventOf(kind, r.Header); event {
		case "ping":
			s.metrics.webhook(provider, hookIgnored)
			writeJSON(w, http.StatusOK, HookAnswer{Triggered: []string{}, Message: "pong"})
			return
		case "push":
		default:
			s.metrics.webhook(provider, hookIgnored)
			writeJSON(w, http.StatusAccepted, HookAnswer{Triggered: []string{}, Message: "event " + quote(event) + " ignored: only pushes trigger syncs"})
			return
		}
		p, err := parsePush(kind, r.Header.Get("Content-Type"), body)
		if err != nil {
			s.metrics.webhook(provider, hookBadRequest)
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if p.Deleted {
			s.metrics.webhook(provider, hookIgnored)
			writeJSON(w, http.StatusAccepted, HookAnswer{Triggered: []string{}, Message: p.Ref + " was deleted: nothing to deploy"})
			return
		}
		envs := s.watches.watching(s.op.Config(), p.URLs, p.Ref)
		if len(envs) == 0 {
			s.metrics.webhook(provider, hookIgnored)
			log.Info("webhook: no environment follows this push", "ref", p.Ref)
			writeJSON(w, http.StatusAccepted, HookAnswer{Triggered: []string{},
				Message: "no environment follows " + p.Ref + " of this repository: nothing to do"})
			return
		}
		var errs []error
		for _, env := range envs {
			if err := s.op.Trigger(env, sync.TriggerWebhook, false); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			s.metrics.webhook(provider, hookError)
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		s.metrics.webhook(provider, hookAccepted)
		log.Info("webhook: syncs queued", "ref", p.Ref, "envs", envs)
		writeJSON(w, http.StatusAccepted, HookAnswer{Triggered: envs, Message: "sync queued for " + strings.Join(envs, ", ")})
	}
}

// eventOf names the event: "push", "ping", or what the forge called it.
func eventOf(kind environments.WebhookKind, h http.Header) string {
	switch kind {
	case environments.GitHub:
		return h.Get("X-GitHub-Event")
	case environments.GitLab:
		// A tag push moves a ref too; an environment may follow a tag.
		if e := h.Get("X-Gitlab-Event"); e != "Push Hook" && e != "Tag Push Hook" {
			return e
		}
		return "push"
	case environments.Gitea:
		return h.Get("X-Gitea-Event")
	}
	return "push"
}

// verify checks the request's signature the way kind's forge makes it.
func verify(kind environments.WebhookKind, h http.Header, body, secret []byte) bool {
	switch kind {
	case environments.GitHub:
		sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		return ok && hmacOK(sig, body, secret)
	case environments.Gitea:
		return hmacOK(h.Get("X-Gitea-Signature"), body, secret)
	case environments.GitLab:
		token := h.Get("X-Gitlab-Token")
		return token != "" && subtle.ConstantTimeCompare([]byte(token), secret) == 1
	case environments.Generic:
		sig, ok := strings.CutPrefix(h.Get("X-Flotilla-Signature"), "sha256=")
		return ok && hmacOK(sig, body, secret)
	}
	return false
}

// hmacOK compares a hex HMAC-SHA256 of body with sig in constant time.
func hmacOK(sig string, body, secret []byte) bool {
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// statusRecorder notes the status an answer was given.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}
