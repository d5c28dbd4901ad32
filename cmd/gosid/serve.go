package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
	"github.com/gosid/gosid/cmd/gosid/internal/httpserver"
	"github.com/gosid/gosid/idp/web"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/migrations"
	"github.com/gosid/gosid/migrations/sqldb"
	"github.com/gosid/gosid/portal"
)

type serveOptions struct {
	storage storageOptions
	keys    keyOptions
	log     logOptions
	idp     idpOptions

	Addr            string
	PublicURL       string
	PortalAddr      string
	TLSCertFile     string
	TLSKeyFile      string
	ShutdownTimeout time.Duration
}

func serveFlags(o *serveOptions) *config.Set {
	s := config.NewSet("gosid serve", "Runs the Gosid identity provider and the citizen portal until SIGINT or SIGTERM.")
	o.storage.register(s)
	s.String(&o.Addr, "addr", "localhost:8080", "Listen address of the identity provider.")
	s.String(&o.PublicURL, "public-url", "", "Public URL of the identity provider, its OpenID issuer (default: http:// + addr). Set it behind a TLS-terminating proxy.")
	s.String(&o.PortalAddr, "portal-addr", "localhost:8081", "Listen address of the citizen portal, or off.")
	s.String(&o.TLSCertFile, "tls-cert-file", "", "PEM certificate chain: serve HTTPS directly (with tls-key-file).")
	s.String(&o.TLSKeyFile, "tls-key-file", "", "PEM private key for tls-cert-file.")
	s.Duration(&o.ShutdownTimeout, "shutdown-timeout", httpserver.DefaultShutdownTimeout, "How long in-flight requests may take to finish after SIGTERM.")
	o.keys.register(s)
	o.idp.register(s)
	o.log.register(s, "info")
	return s
}

func runServe(ctx context.Context, env *environment, args []string) int {
	var o serveOptions
	s := serveFlags(&o)
	p, ok := env.parse(s, args)
	if !ok {
		return exitOK
	}
	o.storage.resolve()
	log := o.log.logger(env.stderr)

	// Validate everything before writing anything.
	checkAddr(s, &p, "addr", o.Addr)
	if o.PortalAddr != "off" {
		checkAddr(s, &p, "portal-addr", o.PortalAddr)
	}
	if o.PublicURL == "" {
		if host, _, err := net.SplitHostPort(o.Addr); err == nil && (host == "" || net.ParseIP(host).IsUnspecified()) {
			p.Add("%s: required when addr (%s) names no host, since the issuer must be a URL clients can reach", s.Source("public-url"), o.Addr)
		}
		o.PublicURL = "http://" + o.Addr
	}
	checkPublicURL(s, &p, o.PublicURL)
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		p.Add("%s and tls-key-file: give both or neither", s.Source("tls-cert-file"))
	}
	for _, f := range []struct{ name, path string }{{"tls-cert-file", o.TLSCertFile}, {"tls-key-file", o.TLSKeyFile}} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				p.Add("%s: %v", s.Source(f.name), err)
			}
		}
	}
	if o.ShutdownTimeout <= 0 {
		p.Add("%s: must be positive", s.Source("shutdown-timeout"))
	}
	o.keys.check(s, &p)
	o.idp.check(s, &p, isLoopback(o.Addr), o.keys.MaxTokenLifetime)
	// The master key may be created only on loopback, the embedded default;
	// in production losing or replacing it must never happen silently.
	createMaster := isLoopback(o.Addr)
	if _, err := os.Stat(o.storage.MasterKeyFile); errors.Is(err, os.ErrNotExist) && !createMaster {
		p.Add("%s: %s does not exist; outside loopback the master key must be provided (create one with `gosid keys new-master-key --out FILE`)", s.Source("master-key-file"), o.storage.MasterKeyFile)
	}
	// check connects to PostgreSQL only when nothing else is wrong.
	db := o.storage.check(ctx, s, &p)
	var idpLn, portalLn net.Listener
	if len(p) == 0 {
		var err error
		if idpLn, err = httpserver.Listen(o.Addr); err != nil {
			p.Add("%s: %v", s.Source("addr"), err)
		}
		if o.PortalAddr != "off" {
			if portalLn, err = httpserver.Listen(o.PortalAddr); err != nil {
				p.Add("%s: %v", s.Source("portal-addr"), err)
			}
		}
	}
	if len(p) > 0 {
		if db != nil {
			db.Close()
		}
		closeListeners(idpLn, portalLn)
		env.problems(p)
		return exitConfig
	}

	code, err := serve(ctx, &o, log, db, idpLn, portalLn, createMaster)
	if err != nil {
		if code == exitConfig {
			fmt.Fprintf(env.stderr, "gosid: %v\n", err)
		} else {
			log.Error("gosid serve failed", "err", err)
		}
	}
	return code
}

func closeListeners(ls ...net.Listener) {
	for _, l := range ls {
		if l != nil {
			_ = l.Close()
		}
	}
}

// serve runs the process after validation; db and portalLn may be nil.
func serve(ctx context.Context, o *serveOptions, log *slog.Logger, db *sqldb.DB, idpLn, portalLn net.Listener, createMaster bool) (code int, err error) {
	// Until a server owns them, the listeners are ours to close.
	defer func() { closeListeners(idpLn, portalLn) }()
	if db == nil {
		if db, err = o.storage.open(ctx, false); err != nil {
			return exitFailed, err
		}
	}
	defer db.Close()
	if err := migrate(ctx, db, log); err != nil {
		return exitFailed, fmt.Errorf("migrate: %w", err)
	}

	master, created, err := keys.LoadMasterKey(o.storage.MasterKeyFile, createMaster)
	if err != nil {
		return exitConfig, err
	}
	for _, w := range master.Warnings() {
		log.Warn(w)
	}
	km, err := keys.Open(ctx, db, master, o.keys.managerOptions(log))
	if err != nil {
		if created {
			// The key we just generated opened nothing: remove it so that
			// the next start is not misled by it.
			_ = os.Remove(o.storage.MasterKeyFile)
		}
		if errors.Is(err, keys.ErrWrongMasterKey) {
			return exitConfig, fmt.Errorf("%s: %w", o.storage.MasterKeyFile, err)
		}
		return exitFailed, fmt.Errorf("open signing keys: %w", err)
	}
	if created {
		log.Info("created a new master key; back it up: without it no stored key can be decrypted", "file", o.storage.MasterKeyFile)
	}

	reg := httpserver.NewRegistry()
	reg.MustRegister(httpserver.NewDBStatsCollector(string(db.Dialect()), db.Stats))
	metrics := httpserver.NewMetrics(reg)
	tls := strings.HasPrefix(o.PublicURL, "https://")
	ready := httpserver.Readyz(log,
		httpserver.Check{Name: "database", Func: func(ctx context.Context) error { return schemaReady(ctx, db) }},
	)

	idpMux := http.NewServeMux()
	parts, err := buildIdP(idpMux, &o.idp, o.PublicURL, db, km, log, tls, time.Now)
	if err != nil {
		return exitFailed, err
	}
	idpMux.Handle("GET /keys", jwksHandler(km))
	idpMux.Handle("GET /healthz", httpserver.Healthz())
	idpMux.Handle("GET /readyz", ready)
	idpMux.Handle("GET /metrics", httpserver.MetricsHandler(reg))

	servers := []*httpserver.Server{}
	idpSrv, err := httpserver.New(httpserver.Config{
		Name: "idp", Listener: idpLn, Logger: log,
		Handler: httpserver.Wrap("idp", web.Protect(web.RememberLang(idpMux), parts.provider.CrossOriginEndpoints()...),
			httpserver.Options{Logger: log, Metrics: metrics, TLS: tls, ClientIP: o.idp.clientIP}),
		TLSCertFile: o.TLSCertFile, TLSKeyFile: o.TLSKeyFile, ShutdownTimeout: o.ShutdownTimeout,
	})
	if err != nil {
		return exitConfig, err
	}
	idpLn = nil // owned by the server now
	servers = append(servers, idpSrv)

	if portalLn != nil {
		ph, err := portal.New(portal.Config{IdPURL: o.PublicURL, Logger: log})
		if err != nil {
			return exitFailed, err
		}
		portalMux := http.NewServeMux()
		portalMux.Handle("/", ph)
		portalMux.Handle("GET /healthz", httpserver.Healthz())
		portalMux.Handle("GET /readyz", ready)
		portalSrv, err := httpserver.New(httpserver.Config{
			Name: "portal", Listener: portalLn, Logger: log,
			Handler:     httpserver.Wrap("portal", portalMux, httpserver.Options{Logger: log, Metrics: metrics, TLS: tls}),
			TLSCertFile: o.TLSCertFile, TLSKeyFile: o.TLSKeyFile, ShutdownTimeout: o.ShutdownTimeout,
		})
		if err != nil {
			return exitConfig, err
		}
		portalLn = nil
		servers = append(servers, portalSrv)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(servers)+1)
	wg.Go(func() {
		if err := km.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("signing keys: %w", err)
		}
	})
	wg.Go(func() { sweep(ctx, 5*time.Minute, log, parts.sweepers) })
	wg.Go(func() { reloadOnHangup(ctx, log, parts.reload) })
	wg.Go(func() {
		sweep(ctx, 5*time.Second, log, []func(context.Context) (int, error){parts.provider.DeliverLogouts})
	})
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.Serve(ctx); err != nil {
				errs <- err
			}
		})
	}
	log.Info("gosid serving", "issuer", o.PublicURL, "idp", idpSrv.URL(), "portal", portalURL(servers), "database", db.Dialect())

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errs:
		log.Error("shutting down after a failure", "err", err)
	}
	cancel()
	wg.Wait()
	if err != nil {
		return exitFailed, err
	}
	return exitOK, nil
}

func portalURL(servers []*httpserver.Server) string {
	if len(servers) > 1 {
		return servers[1].URL()
	}
	return "off"
}

// schemaReady: the database answers and holds every migration this binary
// knows.
func schemaReady(ctx context.Context, db *sqldb.DB) error {
	_, atHead, err := migrations.Status(ctx, db)
	if err != nil {
		return err
	}
	if !atHead {
		return errors.New("database schema is behind this binary")
	}
	return nil
}

// jwksHandler serves the public signing keys from memory. Relying parties may
// cache them for a while: a new key is published a whole token lifetime
// before it signs.
func jwksHandler(km *keys.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		// Public keys, for browser apps checking ID tokens too.
		h.Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(km.JSON())
	})
}

// reloadOnHangup re-reads the e-signature trust list on SIGHUP; a bad
// folder keeps the list in use and is logged.
func reloadOnHangup(ctx context.Context, log *slog.Logger, reload func() error) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := reload(); err != nil {
				log.Error("reload the e-signature trust list; the previous list stays in use", "err", err)
			} else {
				log.Info("e-signature trust list reloaded")
			}
		}
	}
}
