package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Default timeouts, used when the matching Config field is zero.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 20 * time.Second
)

// Config describes one listener. Timeouts: zero means the default above, a
// negative value means no limit.
type Config struct {
	// Name identifies the server in logs and errors ("idp", "portal").
	Name string
	// Addr is the TCP address to listen on ("localhost:8080", "127.0.0.1:0").
	// Ignored when Listener is set.
	Addr string
	// Listener, when set, is served instead of opening Addr (see Listen).
	// The Server takes ownership and closes it.
	Listener net.Listener
	// Handler serves every request; usually Wrap(name, mux, opts).
	Handler http.Handler
	// TLSCertFile and TLSKeyFile, both set, make the server speak TLS
	// (1.2 minimum). Both are loaded by New, so that a bad file fails start-up.
	TLSCertFile string
	TLSKeyFile  string
	// Logger receives lifecycle events and the net/http server's own errors.
	// Nil discards them.
	Logger *slog.Logger

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// once the context passed to Serve is cancelled; then connections are
	// closed.
	ShutdownTimeout time.Duration
}

// Server is one HTTP listener that has been opened but not necessarily
// served yet. Create it with New, serve it with Serve.
type Server struct {
	name            string
	ln              net.Listener
	srv             *http.Server
	tls             bool
	logger          *slog.Logger
	shutdownTimeout time.Duration

	mu      sync.Mutex
	started bool
	closed  bool
}

// Listen opens a TCP listener on addr. Opening the listeners before serving
// lets the caller learn the real port of ":0" and fail fast on "address
// already in use" before anything else starts.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("httpx: %w", err)
	}
	return ln, nil
}

// New validates cfg, loads the TLS key pair if any and opens the listener
// (unless cfg.Listener is set). Nothing is served until Serve is called. On
// error, a cfg.Listener passed in is left open for the caller to close.
func New(cfg Config) (*Server, error) {
	if cfg.Handler == nil {
		return nil, fmt.Errorf("httpx %s: no handler", cfg.Name)
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, fmt.Errorf("httpx %s: TLS needs both a certificate and a key file", cfg.Name)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("server", cfg.Name)

	var tlsConfig *tls.Config
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("httpx %s: load TLS key pair: %w", cfg.Name, err)
		}
		tlsConfig = &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cert},
		}
	}

	ln := cfg.Listener
	if ln == nil {
		if cfg.Addr == "" {
			return nil, fmt.Errorf("httpx %s: neither an address nor a listener", cfg.Name)
		}
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("httpx %s: %w", cfg.Name, err)
		}
	}

	srv := &http.Server{
		Handler:           cfg.Handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: timeout(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       timeout(cfg.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      timeout(cfg.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       timeout(cfg.IdleTimeout, DefaultIdleTimeout),
		// net/http reports TLS handshake failures, accept errors and the like
		// through a *log.Logger; route them to our structured log.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return &Server{
		name:            cfg.Name,
		ln:              ln,
		srv:             srv,
		tls:             tlsConfig != nil,
		logger:          logger,
		shutdownTimeout: timeout(cfg.ShutdownTimeout, DefaultShutdownTimeout),
	}, nil
}

// timeout maps zero to def and a negative value to 0, which net/http and
// Serve read as "no limit".
func timeout(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// Addr is the address actually listened on (with the real port for ":0").
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is "http://" or "https://" followed by Addr. With a wildcard address
// (":8080") the host is not one a client can use; meant for logs and tests.
func (s *Server) URL() string {
	if s.tls {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Serve serves until ctx is cancelled, then shuts down gracefully: it stops
// accepting connections, closes idle ones, lets in-flight requests finish
// for up to ShutdownTimeout, and then closes whatever is left. It returns nil
// after a complete graceful shutdown, and an error if serving failed or the
// drain had to be cut short. Request contexts carry ctx's values but are not
// cancelled by it, so that in-flight requests can finish. Serve may be called
// once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return fmt.Errorf("httpx %s: already served or closed", s.name)
	}
	s.started = true
	s.mu.Unlock()

	s.srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	s.logger.Info("listening", "addr", s.ln.Addr().String(), "tls", s.tls)

	served := make(chan error, 1)
	go func() {
		if s.tls {
			// The certificate is already in TLSConfig.
			served <- s.srv.ServeTLS(s.ln, "", "")
		} else {
			served <- s.srv.Serve(s.ln)
		}
	}()

	select {
	case err := <-served:
		// Serve only returns early on a listener failure.
		s.srv.Close()
		return fmt.Errorf("httpx %s: %w", s.name, err)
	case <-ctx.Done():
	}

	s.logger.Info("shutting down", "timeout", s.shutdownTimeout)
	sctx := context.WithoutCancel(ctx)
	if s.shutdownTimeout > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(sctx, s.shutdownTimeout)
		defer cancel()
	}
	err := s.srv.Shutdown(sctx)
	if err != nil {
		s.srv.Close()
		err = fmt.Errorf("httpx %s: graceful shutdown cut short, connections closed: %w", s.name, err)
	}
	// Once Shutdown has begun, the serving goroutine returns ErrServerClosed.
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("httpx %s: %w", s.name, serr)
	}
	if err != nil {
		s.logger.Error("stopped", "err", err)
	} else {
		s.logger.Info("stopped")
	}
	return err
}

// Close releases a Server that will not be served (say, because another
// listener failed to open). During Serve, cancel its context instead.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return nil
	}
	s.closed = true
	return s.ln.Close()
}

// Run is New followed by Serve.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// RunAll serves every server and runs every task until ctx ends or one of
// them fails; then it stops the rest (servers drain gracefully) and waits
// for all. It returns the first failure, or nil after a clean stop. A task
// returning context.Canceled after ctx ended is no failure.
func RunAll(ctx context.Context, log *slog.Logger, servers []*Server, tasks ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(servers)+len(tasks))
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.Serve(ctx); err != nil {
				errs <- err
			}
		})
	}
	for _, task := range tasks {
		wg.Go(func() {
			if err := task(ctx); err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)) {
				errs <- err
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errs:
		log.Error("shutting down after a failure", "err", err)
	}
	cancel()
	wg.Wait()
	return err
}
