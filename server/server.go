package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flotilla-gitops/flotilla/environments"
	"github.com/flotilla-gitops/flotilla/secrets"
)

// shutdownGrace is how long in-flight requests get once the context ends.
const shutdownGrace = 10 * time.Second

// Server is the operator's HTTP endpoint.
type Server struct {
	listen  string
	op      Operator
	metrics *Metrics
	log     *slog.Logger
	// token guards everything; without one the POST endpoints answer 403.
	token    secrets.Value
	hasToken bool
	// readToken allows the reads only.
	readToken    secrets.Value
	hasReadToken bool
	publicRead   bool
	tls          *environments.ServerTLS
	hooks        map[environments.WebhookKind]secrets.Value
	deliveries   *deliveries
	watches      watchIndex
	mux          *http.ServeMux
	// The dashboard (nil with server.ui: false), its live events, and
	// the signal that ends its event streams when the server shuts down.
	uiOn      bool
	ui        *dashboard
	live      *Live
	closing   chan struct{}
	closeOnce gosync.Once
}

// New builds the server from the server: section. The API token and the
// webhook secrets are read now, so that a missing or empty file stops the
// start with a clear error rather than failing the first request.
func New(cfg *environments.Server, op Operator, m *Metrics, log *slog.Logger, opts ...Option) (*Server, error) {
	if cfg == nil {
		return nil, errors.New("starting the HTTP server: no server section in the configuration")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{listen: cfg.Listen, op: op, metrics: m, log: log, publicRead: cfg.PublicRead, tls: cfg.TLS,
		hooks: map[environments.WebhookKind]secrets.Value{}, deliveries: newDeliveries(maxDeliveries),
		uiOn: cfg.UIEnabled(), closing: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if s.live == nil {
		s.live = NewLive()
	}
	if cfg.TokenFile != "" {
		t, err := strongSecret(cfg.Token())
		if err != nil {
			return nil, fmt.Errorf("starting the HTTP server: %w", err)
		}
		s.token, s.hasToken = t, true
	} else {
		log.Warn("server.tokenFile is not set: the API's POST endpoints are disabled")
	}
	if cfg.ReadTokenFile != "" {
		t, err := strongSecret(cfg.ReadToken())
		if err != nil {
			return nil, fmt.Errorf("starting the HTTP server: %w", err)
		}
		s.readToken, s.hasReadToken = t, true
	}
	if cfg.PublicRead {
		log.Warn("server.publicRead is true: anyone who reaches the server reads every environment's status and history")
	}
	for kind, h := range cfg.Webhooks {
		secret, err := strongSecret(h.Secret())
		if err != nil {
			return nil, fmt.Errorf("starting the HTTP server: %s webhook: %w", kind, err)
		}
		s.hooks[kind] = secret
	}
	s.routes()
	return s, nil
}

// strongSecret refuses a token or webhook secret that can be guessed.
// Validation says so at load time; this covers a file changed since.
func strongSecret(v secrets.Value, err error) (secrets.Value, error) {
	if err != nil {
		return v, err
	}
	if v.Len() < environments.MinSecretLen {
		return secrets.Value{}, fmt.Errorf("a token or webhook secret of %d bytes is too short: use at least %d random bytes", v.Len(), environments.MinSecretLen)
	}
	return v, nil
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.ready)
	if s.metrics != nil && s.metrics.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.gatherer, promhttp.HandlerOpts{}))
	}
	s.apiRoutes(mux)
	s.hookRoutes(mux)
	if s.uiOn {
		s.uiRoutes(mux)
	}
	s.mux = mux
}

// Handler serves every endpoint.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.op.Ready(ctx); err != nil {
		// Probes need only the status; the reason may name hosts and files.
		if s.accessOf(r) < accessRead {
			writeError(w, http.StatusServiceUnavailable, "not ready (the reason needs an API token)")
			return
		}
		writeError(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ready")
}

// ListenAndServe serves on the configured address until ctx ends, then
// shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.listen)
	if err != nil {
		return fmt.Errorf("starting the HTTP server: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, over TLS when server.tls is set.
// Requests in flight get shutdownGrace to finish; a rollback still running
// then is not cut short by the server (it runs on its own context) but its
// answer is lost.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.tls != nil {
		certs, err := newCertificate(s.tls.CertFile, s.tls.KeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("starting the HTTPS server: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get(s.log)})
	}
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: a rollback answers when its deploy converged.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	// Event streams never go idle on their own: end them, or Shutdown
	// would wait out its grace for them.
	hs.RegisterOnShutdown(s.endStreams)
	s.log.Info("HTTP server listening", "addr", ln.Addr().String(), "tls", s.tls != nil)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving HTTP on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("shutting down the HTTP server: %w", err)
	}
	<-done
	return nil
}

// endStreams ends the dashboard's event streams.
func (s *Server) endStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// errorBody is every error answer.
type errorBody struct {
	Error string `json:"error"`
	// Report is what a failed rollback did before failing.
	Report *Report `json:"report,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to tell it
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}
