package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/blob"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
	"github.com/gosid/gosid/migrations"
	"github.com/gosid/gosid/portal"
	"github.com/gosid/gosid/portal/auth"
	"github.com/gosid/gosid/portal/catalog/store"
)

// portalClientID is the portal's client at the identity provider.
const portalClientID = "gosid-portal"

// portalClient is the portal's registration: a first-party client (no
// consent screen) that authenticates with its own key, gets the staff
// roles for the agencies' back-office, and hears of sign-outs.
func portalClient(portalURL string, key *auth.Key) client.Client {
	return client.Client{ID: portalClientID, Name: "Портал Gosid", AuthMethod: client.AuthPrivateKeyJWT, JWKS: key.JWKS(),
		RedirectURIs: []string{portalURL + auth.CallbackPath}, PostLogoutRedirectURIs: []string{portalURL + "/"},
		BackchannelLogoutURI: portalURL + auth.BackchannelPath, Scopes: auth.DefaultScopes,
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}, FirstParty: true, StaffRoles: true}
}

// embeddedPortal is the portal inside gosid serve: its tables in the same
// database, its secrets sealed by the same keys, its messages through the
// same gateways, registered with the identity provider at every start.
func embeddedPortal(ctx context.Context, i *idp.IdP, portalURL, dataDir, attachments string, dev bool, log *slog.Logger, acq *gatewayOptions) (*portal.Handler, error) {
	// The identity provider's check of e-signatures: one trust list,
	// reloaded on SIGHUP for both.
	var signatures func(ctx context.Context, signature, content []byte) (*cms.Result, error)
	if i.ESignature != nil {
		signatures = i.ESignature.Verify
	}
	h, key, err := portal.Open(ctx, portal.Setup{DB: i.DB, Sealer: i.Keys, Messages: i.Messages, Issuer: i.Issuer, ClientID: portalClientID,
		PortalURL: portalURL, DataDir: dataDir, Attachments: attachments, Logger: log, Now: i.Now, Jobs: i.Jobs, Dev: dev, Signatures: signatures,
		Acquirer: acq.acquirer()})
	if err != nil {
		return nil, err
	}
	return h, client.NewStore(i.DB, time.Now).Ensure(ctx, portalClient(portalURL, key))
}

type portalOptions struct {
	storage storageOptions
	log     logOptions
	gatewayOptions
	trust                   cert.TrustConfig
	Attachments             string
	Addr, PublicURL, Issuer string
	ClientID                string
	ShutdownTimeout         time.Duration
}

// runPortal is `gosid portal`: the portal alone, with a database of its
// own, signing citizens in with the identity provider at --issuer, where
// it is registered as a client (the log says how).
func runPortal(ctx context.Context, env *cmdline.Env, args []string) int {
	if len(args) > 0 && args[0] == "services" {
		return cmdline.Dispatch(ctx, env, "portal services", args[1:], store.Commands(func(ctx context.Context, env *cmdline.Env, args []string, cmd *store.Command) int {
			var c dbCommand
			s := c.flags(cmd.Name, cmd.Synopsis, true)
			cmd.Register(s)
			return c.run(ctx, env, s, args, false, cmd.Check, func(o opened) error {
				return cmd.Run(ctx, store.Env{DB: o.db, Out: env.Stdout, JSON: c.JSON, Now: time.Now})
			})
		}))
	}
	if len(args) > 0 && args[0] == "notify" {
		var c dbCommand
		var n portal.NotifyCommand
		s := c.flags("portal notify", portal.NotifySynopsis, false)
		n.Register(s)
		return c.run(ctx, env, s, args[1:], false, func(p *cmdline.Problems) { n.Check(s, p) }, func(o opened) error {
			return n.Run(ctx, o.db, env.Stdout)
		})
	}
	var o portalOptions
	s := cmdline.NewSet("gosid portal", "Runs the citizen portal alone, with its own database, as a relying party of the Gosid identity provider at --issuer, until SIGINT or SIGTERM. `gosid portal services import|export|list` manage the catalogue of services; `gosid portal notify` sends news to subscribers.")
	o.storage.registerAs(s, "./gosid-portal-data")
	s.String(&o.Addr, "addr", "localhost:8081", "Listen address of the portal.")
	s.String(&o.PublicURL, "public-url", "", "Public URL of the portal (default: http:// + addr).")
	s.String(&o.Issuer, "issuer", "", "The identity provider's issuer URL (required).")
	s.String(&o.ClientID, "client-id", portalClientID, "The portal's client id at the identity provider.")
	s.Duration(&o.ShutdownTimeout, "shutdown-timeout", httpx.DefaultShutdownTimeout, "How long in-flight requests may take to finish after SIGTERM.")
	registerAttachments(s, &o.Attachments)
	o.trust.Register(s)
	o.gatewayOptions.register(s)
	o.log.register(s, "info")
	var ln net.Listener
	return env.Run(s, args, func(p *cmdline.Problems) {
		o.storage.resolve()
		checkAddr(s, p, "addr", o.Addr)
		if err := httpx.CheckPublicURL(o.Issuer); err != nil {
			p.Add("%s: %v", s.Source("issuer"), err)
		}
		if o.PublicURL != "" {
			if err := httpx.CheckPublicURL(o.PublicURL); err != nil {
				p.Add("%s: %v", s.Source("public-url"), err)
			}
		}
		if notLocal := httpx.NotLocal(o.Addr, cmp.Or(o.PublicURL, "http://"+o.Addr)); o.gateways().Development() && notLocal != "" {
			p.Add("--smtp-addr or --sms-gateway-url: one is required unless addr and public-url are both loopback (%s)", notLocal)
		}
		o.gateways().Validate(p.About(s))
		checkAttachments(s, p, o.Attachments)
		o.trust.Check(s, p)
		if db := o.storage.check(ctx, s, p); db != nil {
			db.Close()
		}
		if len(*p) == 0 {
			var err error
			if ln, err = httpx.Listen(o.Addr); err != nil {
				p.Add("%s: %v", s.Source("addr"), err)
			}
		}
	}, func() error { return servePortal(ctx, &o, ln, o.log.serverLogger(env)) })
}

func servePortal(ctx context.Context, o *portalOptions, ln net.Listener, log *slog.Logger) error {
	defer ln.Close()
	if o.PublicURL == "" {
		o.PublicURL = httpx.ListenURL(o.Addr, ln.Addr(), false)
	}
	mk, _, err := keys.LoadMasterKey(o.storage.MasterKeyFile, httpx.NotLocal(o.Addr, o.PublicURL) == "")
	if err != nil {
		return cmdline.Usage(err)
	}
	db, err := o.storage.open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := migrations.UpModules(ctx, db, "portal"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := jobs.Migrate(ctx, db); err != nil {
		return err
	}
	q, err := jobs.New(db, jobs.Config{Logger: log})
	if err != nil {
		return err
	}
	sealer, err := keys.NewSealer(mk.Derive("portal sealing"))
	if err != nil {
		return err
	}
	var signatures func(ctx context.Context, signature, content []byte) (*cms.Result, error)
	if o.trust.TrustDir != "" {
		v, _, err := o.trust.Open(time.Now)
		if err != nil {
			return cmdline.Usage(err)
		}
		signatures = func(ctx context.Context, sig, content []byte) (*cms.Result, error) {
			return cms.Check(ctx, v, sig, content)
		}
	}
	var msgs message.Sender = message.DevLog{Log: log}
	if !o.gateways().Development() {
		if msgs, _, err = message.Open(o.gateways(), db, log); err != nil {
			return err
		}
	}
	h, key, err := portal.Open(ctx, portal.Setup{DB: db, Sealer: sealer, Messages: msgs, Issuer: o.Issuer, ClientID: o.ClientID, PortalURL: o.PublicURL,
		DataDir: o.storage.DataDir, Attachments: o.Attachments, Logger: log, Now: time.Now, Jobs: q, Dev: httpx.NotLocal(o.Addr, o.PublicURL) == "",
		Signatures: signatures, Acquirer: o.acquirer()})
	if err != nil {
		return err
	}
	secure := strings.HasPrefix(o.PublicURL, "https://")
	srv, err := httpx.New(httpx.Config{Name: "portal", Listener: ln, Logger: log, ShutdownTimeout: o.ShutdownTimeout,
		Handler: h.Server(httpx.Options{Logger: log, TLS: secure})})
	if err != nil {
		return err
	}
	c := portalClient(o.PublicURL, key)
	log.Info("gosid portal serving", "portal", o.PublicURL, "issuer", o.Issuer, "database", db.Dialect(), "register_with",
		fmt.Sprintf("gosid clients create --id %s --name %q --auth-method private_key_jwt --jwks-uri %s --redirect-uri %s --post-logout-redirect-uri %s --backchannel-logout-uri %s --scopes %s --grant-types authorization_code,refresh_token --first-party --staff-roles",
			o.ClientID, c.Name, o.PublicURL+auth.JWKSPath, c.RedirectURIs[0], c.PostLogoutRedirectURIs[0], c.BackchannelLogoutURI, strings.Join(c.Scopes, ",")))
	return httpx.RunAll(ctx, log, []*httpx.Server{srv}, func(ctx context.Context) error { return q.Run(ctx, o.ShutdownTimeout) })
}

// acquirer is the card acquirer the options name (portal.Open fills in
// the rest); nil options name none: the sandbox's in development only.
func (o *gatewayOptions) acquirer() portal.AcquirerSetup {
	if o == nil {
		return portal.AcquirerSetup{}
	}
	return portal.AcquirerSetup{URL: o.AcquirerURL, MerchantID: o.AcquirerMerchant, APIKey: o.AcquirerAPIKey, NotifySecret: o.AcquirerSecret}
}

func registerAttachments(s *cmdline.Set, v *string) {
	s.SecretString(v, "attachments-s3-url", "", "Where the portal keeps attachments (encrypted): an S3-compatible bucket, s3://ACCESS_KEY:SECRET_KEY@host[:port]/bucket[?region=R&tls=false&path_style=true]; empty: files under <data-dir>/attachments.")
}

func checkAttachments(s *cmdline.Set, p *cmdline.Problems, v string) {
	if v != "" {
		if _, err := blob.ParseS3URL(v); err != nil {
			p.Add("%s: %v", s.Source("attachments-s3-url"), err)
		}
	}
}
