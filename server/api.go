package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	gosync "sync"
	"time"

	"github.com/flotilla-gitops/flotilla/diff"
	"github.com/flotilla-gitops/flotilla/sync"
)

// maxAPIBody caps the small JSON bodies the API's POSTs take.
const maxAPIBody = 64 << 10

// statusParallel bounds the environments whose status is read at once for
// the list: each reads history, lists Git refs and renders for drift.
const statusParallel = 4

// apiRoutes registers /api/v1. Reads want either token (server.tokenFile's
// or server.readTokenFile's), unless server.publicRead opens them; public
// readers see no error text, commit message or e-mail address. Writes want
// server.tokenFile's token, and are disabled (403) when none is configured.
// Every plan and drift the API shows is masked (diff.MaskSensitive): the
// values of sensitive variables and labels are for whoever holds the stack
// files, not for the API's readers.
func (s *Server) apiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/environments", s.reader(s.list))
	mux.HandleFunc("GET /api/v1/environments/{env}", s.reader(s.env(s.status)))
	mux.HandleFunc("GET /api/v1/environments/{env}/history", s.reader(s.env(s.history)))
	mux.HandleFunc("POST /api/v1/environments/{env}/sync", s.authorized(s.env(s.sync)))
	mux.HandleFunc("POST /api/v1/environments/{env}/rollback", s.authorized(s.env(s.rollback)))
	mux.HandleFunc("POST /api/v1/environments/{env}/resume", s.authorized(s.env(s.resume)))
}

// sensitive is the patterns plans are masked with, from the configuration
// in force.
func (s *Server) sensitive() []string { return s.op.Config().Sensitive() }

// statusFor converts and masks a status for r's reader.
func (s *Server) statusFor(r *http.Request, st *sync.Status) EnvironmentStatus {
	out := StatusOf(st)
	patterns := s.sensitive()
	for i := range out.Drift {
		out.Drift[i].Fields = diff.MaskFields(out.Drift[i].Fields, patterns)
	}
	if s.public(r) {
		hideStatus(&out)
	}
	return out
}

// failure answers an operator's error: its text for token holders, a
// generic one for public readers (it may name files and hosts).
func (s *Server) failure(w http.ResponseWriter, r *http.Request, code int, err error) {
	if s.public(r) {
		writeError(w, code, "request "+hiddenError)
		return
	}
	writeError(w, code, err.Error())
}

// env answers 404 for an environment that is not configured.
func (s *Server) env(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("env")
		if !known(s.op, name) {
			writeError(w, http.StatusNotFound, "unknown environment "+quote(name))
			return
		}
		next(w, r, name)
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	var names []string
	if cfg := s.op.Config(); cfg != nil {
		names = cfg.EnvironmentNames()
	}
	out := make([]EnvironmentSummary, len(names))
	var wg gosync.WaitGroup
	sem := make(chan struct{}, statusParallel)
	for i, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			st, err := s.op.Status(r.Context(), name)
			if err != nil {
				out[i] = EnvironmentSummary{Name: name, Errors: []string{err.Error()}}
			} else {
				out[i] = s.statusFor(r, st).Summary()
			}
			if s.public(r) {
				hideSummary(&out[i])
			}
		})
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, map[string]any{"environments": out})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, env string) {
	st, err := s.op.Status(r.Context(), env)
	if err != nil {
		s.failure(w, r, code(err, http.StatusInternalServerError), err)
		return
	}
	writeJSON(w, http.StatusOK, s.statusFor(r, st))
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, env string) {
	records, err := s.op.History(r.Context(), env)
	if err != nil {
		s.failure(w, r, code(err, http.StatusInternalServerError), err)
		return
	}
	public := s.public(r)
	out := make([]Record, 0, len(records))
	for i := range records {
		rec := RecordOf(&records[i])
		if public {
			hideRecord(rec)
		}
		out = append(out, *rec)
	}
	writeJSON(w, http.StatusOK, map[string]any{"environment": env, "records": out})
}

// SyncRequest is the optional body of POST …/sync.
type SyncRequest struct {
	// Force applies a quarantined commit and overrides a closed sync window.
	Force bool `json:"force"`
}

// Accepted answers a queued sync.
type Accepted struct {
	Environment string `json:"environment"`
	Force       bool   `json:"force"`
	Message     string `json:"message"`
}

func (s *Server) sync(w http.ResponseWriter, r *http.Request, env string) {
	var req SyncRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if err := s.op.Trigger(env, sync.TriggerManual, req.Force); err != nil {
		if b, ok := errors.AsType[*sync.BackoffError](err); ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(time.Until(b.Until).Seconds()+0.5))))
		}
		writeError(w, code(err, http.StatusServiceUnavailable), err.Error())
		return
	}
	s.log.Info("sync requested over the API", "env", env, "force", req.Force)
	writeJSON(w, http.StatusAccepted, Accepted{Environment: env, Force: req.Force, Message: "sync of " + env + " queued"})
}

// RollbackRequest is the body of POST …/rollback.
type RollbackRequest struct {
	// To is a full or abbreviated (4+) SHA; empty means the last good
	// commit before the current one.
	To string `json:"to"`
}

var shaPrefix = regexp.MustCompile(`^[0-9a-fA-F]{4,64}$`)

func (s *Server) rollback(w http.ResponseWriter, r *http.Request, env string) {
	var req RollbackRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.To != "" && !shaPrefix.MatchString(req.To) {
		writeError(w, http.StatusUnprocessableEntity, "to: "+quote(req.To)+" is not a commit SHA (4 to 64 hex digits)")
		return
	}
	s.log.Info("rollback requested over the API", "env", env, "to", req.To)
	// A client that hangs up must not interrupt a deploy half-way.
	rep, err := s.op.Rollback(context.WithoutCancel(r.Context()), env, req.To)
	if rep != nil {
		masked := *rep
		masked.Plan = diff.MaskSensitive(rep.Plan, s.sensitive())
		rep = &masked
	}
	out, jerr := ReportOf(rep)
	if jerr != nil {
		writeError(w, http.StatusInternalServerError, "encoding the rollback's plan: "+jerr.Error())
		return
	}
	if err != nil {
		writeJSON(w, code(err, http.StatusConflict), errorBody{Error: err.Error(), Report: out})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request, env string) {
	if err := s.op.Resume(context.WithoutCancel(r.Context()), env); err != nil {
		writeError(w, code(err, http.StatusInternalServerError), err.Error())
		return
	}
	s.log.Info("resumed over the API", "env", env)
	writeJSON(w, http.StatusOK, map[string]string{"environment": env, "message": env + " resumed"})
}

// code is the HTTP status for an operator's error: 404 for an environment a
// reload just removed, 409 outside a sync window, 503 while the operator
// shuts down, else fallback.
func code(err error, fallback int) int {
	switch {
	case errors.Is(err, sync.ErrUnknownEnvironment):
		return http.StatusNotFound
	case errors.Is(err, sync.ErrStopping):
		return http.StatusServiceUnavailable
	}
	if _, ok := errors.AsType[*sync.WindowError](err); ok {
		return http.StatusConflict
	}
	if _, ok := errors.AsType[*sync.BackoffError](err); ok {
		return http.StatusTooManyRequests
	}
	return fallback
}

// decodeBody reads an optional JSON body into v; it answers 400 itself.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return false
	}
	return true
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
