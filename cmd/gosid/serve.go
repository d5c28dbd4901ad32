package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/migrations"
	"github.com/gosid/gosid/portal"
	"github.com/gosid/gosid/verification"
)

type serveOptions struct {
	storage storageOptions
	keys    keyOptions
	log     logOptions
	idp     idpOptions

	Addr            string
	PublicURL       string
	PortalAddr      string
	PortalURL       string
	Attachments     string
	AdminAddr       string
	SandboxBankAddr string
	TLSCertFile     string
	TLSKeyFile      string
	ShutdownTimeout time.Duration

	// urlFromAddr: PublicURL was derived from Addr, not given.
	urlFromAddr bool
	// clockFault shifts this process's clock (GOSID_FAULT_CLOCK_OFFSET,
	// for the soak's clock-step scenario); clockFile, re-read every
	// second, steps it while the process runs (GOSID_FAULT_CLOCK_FILE;
	// sqldb.FaultClock).
	clockFault time.Duration
	clockFile  string
}

func serveFlags(o *serveOptions) *cmdline.Set {
	s := cmdline.NewSet("gosid serve", "Runs the Gosid identity provider and the citizen portal until SIGINT or SIGTERM.")
	o.storage.register(s)
	s.String(&o.Addr, "addr", "localhost:8080", "Listen address of the identity provider.")
	s.String(&o.PublicURL, "public-url", "", "Public URL of the identity provider, its OpenID issuer (default: http:// + addr, or https:// + addr with tls-cert-file). Set it behind a TLS-terminating proxy.")
	s.String(&o.PortalAddr, "portal-addr", "localhost:8081", "Listen address of the citizen portal, or off.")
	s.String(&o.PortalURL, "portal-public-url", "", "Public URL of the portal (default: from portal-addr); the portal is registered with it at the identity provider.")
	registerAttachments(s, &o.Attachments)
	s.String(&o.SandboxBankAddr, "sandbox-bank-addr", "localhost:8082", "Listen address of the sandbox bank ID service with made-up customers, to try confirmation through a bank (development mode only), or off.")
	s.String(&o.AdminAddr, "admin-addr", "localhost:9090", "Listen address of the management endpoints /readyz, /metrics and /healthz (plain HTTP; keep it off the public network), or off.")
	s.String(&o.TLSCertFile, "tls-cert-file", "", "PEM certificate chain: serve HTTPS directly (with tls-key-file).")
	s.String(&o.TLSKeyFile, "tls-key-file", "", "PEM private key for tls-cert-file.")
	s.Duration(&o.ShutdownTimeout, "shutdown-timeout", httpx.DefaultShutdownTimeout, "How long in-flight requests may take to finish after SIGTERM.")
	o.keys.register(s)
	o.idp.register(s)
	o.log.register(s, "info")
	return s
}

func runServe(ctx context.Context, env *cmdline.Env, args []string) int {
	var o serveOptions
	s := serveFlags(&o)
	p, ok := env.Parse(s, args)
	if !ok {
		return exitOK
	}
	o.storage.resolve()
	log := o.log.serverLogger(env)

	// Validate everything before writing anything.
	createMaster := o.check(s, &p)
	if v := env.Getenv("GOSID_FAULT_CLOCK_OFFSET"); v != "" {
		// Fault injection: this replica's clock as if its host's were off.
		d, err := time.ParseDuration(v)
		if err != nil || d.Abs() > sqldb.MaxClockFault {
			p.Add("GOSID_FAULT_CLOCK_OFFSET: %q is not a duration within ±10m", v)
		}
		o.clockFault = d
	}
	o.clockFile = env.Getenv("GOSID_FAULT_CLOCK_FILE")
	// check connects to PostgreSQL only when nothing else is wrong.
	db := o.storage.check(ctx, s, &p)
	// Every listener is bound before anything is written, so that a port
	// in use is one more problem reported with the others.
	ls := map[string]net.Listener{}
	for _, l := range o.listens() {
		if len(p) == 0 && l.addr != "off" {
			var err error
			if ls[l.server], err = httpx.Listen(l.addr); err != nil {
				p.Add("%s: %v", s.Source(l.option), err)
			}
		}
	}
	if ls["idp"] != nil && o.urlFromAddr {
		o.PublicURL = httpx.BoundURL(o.PublicURL, ls["idp"].Addr())
	}
	if len(p) > 0 {
		if db != nil {
			db.Close()
		}
		closeAll(ls)
		env.Problems(p)
		return exitConfig
	}

	code, err := serve(ctx, &o, log, db, ls, createMaster)
	if err != nil {
		if code == exitConfig {
			fmt.Fprintf(env.Stderr, "gosid: %v\n", err)
		} else {
			log.Error("gosid serve failed", "err", err)
		}
	}
	return code
}

// check validates the options without writing anything and fills the
// derived defaults (the public URL). It reports whether development mode is
// allowed, which also lets a missing master key be created.
func (o *serveOptions) check(s *cmdline.Set, p *cmdline.Problems) (dev bool) {
	for _, l := range o.listens() {
		if l.addr != "off" || l.server == "idp" {
			checkAddr(s, p, l.option, l.addr)
		}
	}
	if o.PublicURL == "" {
		var err error
		if o.PublicURL, err = httpx.PublicURLOf(o.Addr, o.TLSCertFile != ""); err != nil {
			p.Add("%s: %v", s.Source("public-url"), err)
		}
		o.urlFromAddr = true
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
	checkAttachments(s, p, o.Attachments)
	// Development mode (the message sink that shows every one-time code,
	// a master key created on the spot) only when nobody but this machine
	// can reach the server: the listener AND the public URL are loopback.
	// A loopback listener behind a reverse proxy with a public URL serves
	// the internet.
	notLocal := httpx.NotLocal(o.Addr, o.PublicURL)
	o.idp.check(s, p, notLocal, o.keys.MaxTokenLifetime)
	if notLocal != "" && o.SandboxBankAddr != "off" {
		if s.IsSet("sandbox-bank-addr") {
			p.Add("%s: the sandbox bank runs only in development mode (%s)", s.Source("sandbox-bank-addr"), notLocal)
		}
		o.SandboxBankAddr = "off"
	}
	// In production losing or replacing the master key must never happen
	// silently, so it is created only in development mode.
	if _, err := os.Stat(o.storage.MasterKeyFile); errors.Is(err, os.ErrNotExist) && notLocal != "" {
		p.Add("%s: %s does not exist, and it is created only when addr and public-url are both loopback (%s); create one with `gosid keys new-master-key --out FILE`", s.Source("master-key-file"), o.storage.MasterKeyFile, notLocal)
	}
	return notLocal == ""
}

// listen is one of serve's listeners: the option giving its address
// ("off" for none) and the server it serves.
type listen struct{ option, addr, server string }

func (o *serveOptions) listens() []listen {
	return []listen{{"addr", o.Addr, "idp"}, {"portal-addr", o.PortalAddr, "portal"}, {"admin-addr", o.AdminAddr, "admin"},
		{"sandbox-bank-addr", o.SandboxBankAddr, "bank"}}
}

// closeAll closes the listeners no server has taken over.
func closeAll(ls map[string]net.Listener) {
	for _, l := range ls {
		if l != nil {
			_ = l.Close()
		}
	}
}

// serve runs the process after validation; db may be nil.
func serve(ctx context.Context, o *serveOptions, log *slog.Logger, db *sqldb.DB, ls map[string]net.Listener, createMaster bool) (code int, err error) {
	// Until a server owns them, the listeners are ours to close.
	defer closeAll(ls)
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
		if errors.As(err, new(*keys.MasterKeyFileError)) {
			return exitConfig, err
		}
		return exitFailed, err
	}

	// Every replica judges time by the database's clock (see sqldb.Clock).
	base := time.Now
	if o.clockFault != 0 || o.clockFile != "" {
		base = sqldb.StartFaultClock(ctx, o.clockFault, o.clockFile, log)
	}
	clock := sqldb.NewClock(ctx, db, base, log)

	reg := httpx.NewRegistry()
	reg.MustRegister(httpx.NewDBStatsCollector(string(db.Dialect()), db.Stats), portal.NotifyCollector(db),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gosid_clock_offset_seconds",
			Help: "What this replica adds to its host's clock to keep the database's time (large: the host's clock is off)."},
			func() float64 { return clock.Offset().Seconds() }))
	opts := httpx.Options{Logger: log, Metrics: httpx.NewMetrics(reg), TLS: strings.HasPrefix(o.PublicURL, "https://")}
	parts, err := buildIdP(&o.idp, o.PublicURL, db, km, log, opts.TLS, clock.Now, reg)
	if err != nil {
		return exitFailed, err
	}
	reg.MustRegister(parts.Collectors()...)
	idpOpts := opts
	idpOpts.ClientIP = httpx.TrustedProxies(o.idp.proxies)
	handlers := map[string]http.Handler{
		"idp":   parts.Handler(idpOpts),
		"admin": httpx.Management(log, reg, opts.Metrics, httpx.Check{Name: "database", Func: func(ctx context.Context) error { return schemaReady(ctx, db) }}),
	}
	if l := ls["portal"]; l != nil {
		if o.PortalURL == "" {
			o.PortalURL = httpx.ListenURL(o.PortalAddr, l.Addr(), o.TLSCertFile != "")
		}
		ph, err := embeddedPortal(ctx, parts, o.PortalURL, o.storage.DataDir, o.Attachments, createMaster, log, &o.idp.gatewayOptions)
		if err != nil {
			return exitFailed, err
		}
		handlers["portal"] = ph.Server(opts)
	}
	if l := ls["bank"]; l != nil {
		if handlers["bank"], err = verification.SandboxBank(ctx, parts, httpx.ListenURL(o.SandboxBankAddr, l.Addr(), false), o.storage.DataDir); err != nil {
			return exitFailed, err
		}
	}
	var servers []*httpx.Server
	at := map[string]string{"portal": "off", "admin": "off", "bank": "off"}
	for _, l := range o.listens() {
		if ls[l.server] == nil {
			continue
		}
		// The public listeners speak TLS when configured; the management
		// one, on a private address, and the sandbox bank never do.
		cfg := httpx.Config{Name: l.server, Listener: ls[l.server], Logger: log, ShutdownTimeout: o.ShutdownTimeout, Handler: handlers[l.server]}
		if l.server == "idp" || l.server == "portal" {
			cfg.TLSCertFile, cfg.TLSKeyFile = o.TLSCertFile, o.TLSKeyFile
		}
		srv, err := httpx.New(cfg)
		if err != nil {
			for _, srv := range servers {
				_ = srv.Close()
			}
			return exitConfig, err
		}
		servers = append(servers, srv)
		at[l.server] = httpx.ListenURL(l.addr, ls[l.server].Addr(), cfg.TLSCertFile != "")
		ls[l.server] = nil // the server owns it now
	}
	log.Info("gosid serving", "issuer", o.PublicURL, "idp", at["idp"], "portal", at["portal"], "admin", at["admin"], "sandbox_bank", at["bank"], "database", db.Dialect())
	err = httpx.RunAll(ctx, log, servers,
		func(ctx context.Context) error { return parts.Jobs.Run(ctx, o.ShutdownTimeout) },
		parts.RunCache,
		km.Run, // returns when ctx ends, without an error
		func(ctx context.Context) error {
			cmdline.OnSignal(ctx, syscall.SIGHUP, func() {
				if err := parts.Reload(); err != nil {
					log.Error("reload the e-signature trust list; the previous list stays in use", "err", err)
				} else {
					log.Info("e-signature trust list reloaded")
				}
			})
			return nil
		})
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
