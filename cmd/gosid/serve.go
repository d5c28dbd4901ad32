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
	"syscall"
	"time"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/migrations"
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
	AdminAddr       string
	TLSCertFile     string
	TLSKeyFile      string
	ShutdownTimeout time.Duration

	// urlFromAddr: PublicURL was derived from Addr, not given.
	urlFromAddr bool
}

func serveFlags(o *serveOptions) *config.Set {
	s := config.NewSet("gosid serve", "Runs the Gosid identity provider and the citizen portal until SIGINT or SIGTERM.")
	o.storage.register(s)
	s.String(&o.Addr, "addr", "localhost:8080", "Listen address of the identity provider.")
	s.String(&o.PublicURL, "public-url", "", "Public URL of the identity provider, its OpenID issuer (default: http:// + addr, or https:// + addr with tls-cert-file). Set it behind a TLS-terminating proxy.")
	s.String(&o.PortalAddr, "portal-addr", "localhost:8081", "Listen address of the citizen portal, or off.")
	s.String(&o.AdminAddr, "admin-addr", "localhost:9090", "Listen address of the management endpoints /readyz, /metrics and /healthz (plain HTTP; keep it off the public network), or off.")
	s.String(&o.TLSCertFile, "tls-cert-file", "", "PEM certificate chain: serve HTTPS directly (with tls-key-file).")
	s.String(&o.TLSKeyFile, "tls-key-file", "", "PEM private key for tls-cert-file.")
	s.Duration(&o.ShutdownTimeout, "shutdown-timeout", httpx.DefaultShutdownTimeout, "How long in-flight requests may take to finish after SIGTERM.")
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
	createMaster := o.check(s, &p)
	// check connects to PostgreSQL only when nothing else is wrong.
	db := o.storage.check(ctx, s, &p)
	// Every listener is bound before anything is written, so that a port
	// in use is one more problem reported with the others.
	var ls listeners
	if len(p) == 0 {
		var err error
		if ls.idp, err = httpx.Listen(o.Addr); err != nil {
			p.Add("%s: %v", s.Source("addr"), err)
		}
		if o.PortalAddr != "off" {
			if ls.portal, err = httpx.Listen(o.PortalAddr); err != nil {
				p.Add("%s: %v", s.Source("portal-addr"), err)
			}
		}
		if o.AdminAddr != "off" {
			if ls.admin, err = httpx.Listen(o.AdminAddr); err != nil {
				p.Add("%s: %v", s.Source("admin-addr"), err)
			}
		}
	}
	if ls.idp != nil && o.urlFromAddr {
		o.PublicURL = httpx.BoundURL(o.PublicURL, ls.idp.Addr())
	}
	if len(p) > 0 {
		if db != nil {
			db.Close()
		}
		ls.close()
		env.problems(p)
		return exitConfig
	}

	code, err := serve(ctx, &o, log, db, &ls, createMaster)
	if err != nil {
		if code == exitConfig {
			fmt.Fprintf(env.stderr, "gosid: %v\n", err)
		} else {
			log.Error("gosid serve failed", "err", err)
		}
	}
	return code
}

// check validates the options without writing anything and fills the
// derived defaults (the public URL). It reports whether development mode is
// allowed, which also lets a missing master key be created.
func (o *serveOptions) check(s *config.Set, p *config.Problems) (dev bool) {
	checkAddr(s, p, "addr", o.Addr)
	if o.PortalAddr != "off" {
		checkAddr(s, p, "portal-addr", o.PortalAddr)
	}
	if o.AdminAddr != "off" {
		checkAddr(s, p, "admin-addr", o.AdminAddr)
	}
	if o.PublicURL == "" {
		if host, _, err := net.SplitHostPort(o.Addr); err == nil && (host == "" || net.ParseIP(host).IsUnspecified()) {
			p.Add("%s: required when addr (%s) names no host, since the issuer must be a URL clients can reach", s.Source("public-url"), o.Addr)
		}
		// Served over TLS directly, the issuer is https: an http issuer
		// would also mean no HSTS and no Secure cookies.
		scheme := "http://"
		if o.TLSCertFile != "" {
			scheme = "https://"
		}
		o.PublicURL, o.urlFromAddr = scheme+o.Addr, true
	}
	if err := httpx.CheckPublicURL(o.PublicURL); err != nil {
		p.Add("%s: %v", s.Source("public-url"), err)
	}
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
	o.keys.check(s, p)
	// Development mode (the message sink that shows every one-time code,
	// a master key created on the spot) only when nobody but this machine
	// can reach the server: the listener AND the public URL are loopback.
	// A loopback listener behind a reverse proxy with a public URL serves
	// the internet.
	notLocal := httpx.NotLocal(o.Addr, o.PublicURL)
	o.idp.check(s, p, notLocal, o.keys.MaxTokenLifetime)
	// In production losing or replacing the master key must never happen
	// silently, so it is created only in development mode.
	if _, err := os.Stat(o.storage.MasterKeyFile); errors.Is(err, os.ErrNotExist) && notLocal != "" {
		p.Add("%s: %s does not exist, and it is created only when addr and public-url are both loopback (%s); create one with `gosid keys new-master-key --out FILE`", s.Source("master-key-file"), o.storage.MasterKeyFile, notLocal)
	}
	return notLocal == ""
}

// listeners are the bound listeners of serve; portal and admin are nil
// when off.
type listeners struct{ idp, portal, admin net.Listener }

// close closes the listeners no server has taken over.
func (ls *listeners) close() {
	for _, l := range []net.Listener{ls.idp, ls.portal, ls.admin} {
		if l != nil {
			_ = l.Close()
		}
	}
}

// serve runs the process after validation; db may be nil.
func serve(ctx context.Context, o *serveOptions, log *slog.Logger, db *sqldb.DB, ls *listeners, createMaster bool) (code int, err error) {
	// Until a server owns them, the listeners are ours to close.
	defer ls.close()
	if db == nil {
		if db, err = o.storage.open(ctx, false); err != nil {
			return exitFailed, err
		}
	}
	defer db.Close()
	if _, err := migrate(ctx, db, log); err != nil {
		return exitFailed, fmt.Errorf("migrate: %w", err)
	}

	km, err := keys.OpenWithMasterKeyFile(ctx, db, o.storage.MasterKeyFile, createMaster, o.keys.managerOptions(log))
	if err != nil {
		return keysFailure(err), err
	}

	reg := httpx.NewRegistry()
	reg.MustRegister(httpx.NewDBStatsCollector(string(db.Dialect()), db.Stats))
	metrics := httpx.NewMetrics(reg)
	tls := strings.HasPrefix(o.PublicURL, "https://")
	ready := httpx.Readyz(log,
		httpx.Check{Name: "database", Func: func(ctx context.Context) error { return schemaReady(ctx, db) }},
	)

	parts, err := buildIdP(&o.idp, o.PublicURL, db, km, log, tls, time.Now)
	if err != nil {
		return exitFailed, err
	}

	var servers []*httpx.Server
	defer func() {
		// Servers made but never served, because a later step failed
		// (Close does nothing to a server that was served).
		for _, srv := range servers {
			_ = srv.Close()
		}
	}()
	// add makes a server of h on *l, which then owns the listener; the
	// public ones speak TLS when configured, the management one never does.
	add := func(name string, l *net.Listener, h http.Handler, public bool) (string, error) {
		cfg := httpx.Config{Name: name, Listener: *l, Logger: log, ShutdownTimeout: o.ShutdownTimeout, Handler: h}
		if public {
			cfg.TLSCertFile, cfg.TLSKeyFile = o.TLSCertFile, o.TLSKeyFile
		}
		srv, err := httpx.New(cfg)
		if err != nil {
			return "", err
		}
		*l = nil
		servers = append(servers, srv)
		return srv.URL(), nil
	}
	opts := httpx.Options{Logger: log, Metrics: metrics, TLS: tls}
	idpOpts := opts
	idpOpts.ClientIP = httpx.TrustedProxies(o.idp.proxies)
	idpAt, err := add("idp", &ls.idp, parts.Handler(idpOpts), true)
	if err != nil {
		return exitConfig, err
	}
	portalAt, adminAt := "off", "off"
	if ls.portal != nil {
		ph, err := portal.New(portal.Config{IdPURL: o.PublicURL, Logger: log})
		if err != nil {
			return exitFailed, err
		}
		portalMux := http.NewServeMux()
		portalMux.Handle("/", ph)
		portalMux.Handle("GET /healthz", httpx.Healthz())
		if portalAt, err = add("portal", &ls.portal, httpx.Wrap("portal", portalMux, opts), true); err != nil {
			return exitConfig, err
		}
	}
	if ls.admin != nil {
		// The management listener, like Keycloak's management port:
		// probes and scrapes reach it on a private address, the public
		// does not. Plain HTTP, whatever the public listener speaks.
		adminMux := http.NewServeMux()
		adminMux.Handle("GET /healthz", httpx.Healthz())
		adminMux.Handle("GET /readyz", ready)
		adminMux.Handle("GET /metrics", httpx.MetricsHandler(reg))
		if adminAt, err = add("admin", &ls.admin, httpx.Wrap("admin", adminMux, httpx.Options{Logger: log, Metrics: metrics}), false); err != nil {
			return exitConfig, err
		}
	}

	if err := parts.Jobs.Start(ctx); err != nil {
		return exitFailed, err
	}
	defer func() {
		// At return, after the servers have drained: jobs running at
		// shutdown get the same grace as requests.
		stopCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
		defer stop()
		if err := parts.Jobs.Stop(stopCtx); err != nil {
			log.Warn("stop the job queue", "err", err)
		}
	}()
	log.Info("gosid serving", "issuer", o.PublicURL, "idp", idpAt, "portal", portalAt, "admin", adminAt, "database", db.Dialect())
	served := servers
	servers = nil // RunAll owns them now: nothing left to close here
	err = httpx.RunAll(ctx, log, served,
		func(ctx context.Context) error {
			if err := km.Run(ctx); err != nil {
				return fmt.Errorf("signing keys: %w", err)
			}
			return nil
		},
		func(ctx context.Context) error { reloadOnHangup(ctx, log, parts.Reload); return nil })
	if err != nil {
		return exitFailed, err
	}
	return exitOK, nil
}

// schemaReady: the database answers and holds every migration this binary
// knows, of every module, and the job queue's tables.
func schemaReady(ctx context.Context, db *sqldb.DB) error {
	report, err := migrations.Status(ctx, db)
	if err != nil {
		return err
	}
	if behind := report.Behind(); len(behind) > 0 {
		return fmt.Errorf("database schema of %s is behind this binary", strings.Join(behind, ", "))
	}
	return jobs.Ready(ctx, db)
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
