package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/cache"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/keys/cms"
	"github.com/gosid/gosid/verification"
)

// idpOptions configure the identity provider's sign-in, sessions and
// messages.
type idpOptions struct {
	LockoutThreshold   int
	LockoutDuration    time.Duration
	Esign              esignOptions
	Verify             verification.Options
	SessionIdleTimeout time.Duration
	ReauthMaxAge       time.Duration
	SessionIdleMin     time.Duration
	SessionIdleMax     time.Duration
	DeletionGrace      time.Duration
	SessionLifetime    time.Duration
	Argon2Memory       int
	Argon2Time         int
	Argon2Threads      int
	PasswordWait       time.Duration
	TrustedProxies     []string
	AccessTokenTTL     time.Duration
	IDTokenTTL         time.Duration
	RefreshTokenTTL    time.Duration
	RefreshGrace       time.Duration
	CodeTTL            time.Duration
	CacheBound         time.Duration

	gatewayOptions

	proxies []netip.Prefix
}

func (o *idpOptions) register(s *cmdline.Set) {
	o.Esign.Register(s)
	o.Verify.Register(s)
	s.Int(&o.LockoutThreshold, "lockout-threshold", 3, "Consecutive wrong passwords that lock password sign-in.")
	s.Duration(&o.LockoutDuration, "lockout-duration", 30*time.Minute, "How long password sign-in stays locked.")
	s.Duration(&o.SessionIdleTimeout, "session-idle-timeout", 30*time.Minute, "A session ends after this long without use.")
	s.Duration(&o.SessionLifetime, "session-lifetime", 12*time.Hour, "A session ends this long after sign-in, used or not.")
	s.Duration(&o.SessionIdleMin, "session-idle-timeout-min", 5*time.Minute, "The shortest idle timeout a citizen may choose in the account centre.")
	s.Duration(&o.SessionIdleMax, "session-idle-timeout-max", 4*time.Hour, "The longest idle timeout a citizen may choose (at most session-lifetime).")
	s.Duration(&o.ReauthMaxAge, "reauth-max-age", session.DefaultReauthMaxAge, "Sensitive changes (contacts, password, second factors, passkeys, certificates, deletion) need an authentication at most this old; an older session is asked to confirm it first.")
	s.Duration(&o.DeletionGrace, "deletion-grace-period", 30*24*time.Hour, "A requested account deletion waits this long; a sign-in meanwhile cancels it.")
	def := password.DefaultParams()
	s.Int(&o.Argon2Memory, "argon2-memory", int(def.Memory), "argon2id memory per password hash, KiB (hashes with other parameters are upgraded at sign-in).")
	s.Int(&o.Argon2Time, "argon2-time", int(def.Time), "argon2id passes.")
	s.Int(&o.Argon2Threads, "argon2-threads", int(def.Threads), "argon2id lanes.")
	s.Duration(&o.PasswordWait, "password-wait", time.Second, "The longest a password sign-in may take, from the request's arrival to its answer (the hashing pool has one slot per core; a hash must end within two thirds of it, more being kept when the work after the hash recently took longer); a sign-in that could not be done within it is answered 503 with Retry-After at once instead of queueing (0: no bound).")
	s.Duration(&o.AccessTokenTTL, "access-token-lifetime", 10*time.Minute, "Lifetime of access tokens.")
	s.Duration(&o.CacheBound, "cache-bound", cache.DefaultBound, "The longest a replica answers userinfo from its memory after a change committed on another replica (an account change, a revoked token) made the answer wrong; each replica polls the database's invalidation log four times within it, and stops using its cache when it cannot. Negative: no cache (every userinfo reads the database).")
	s.Duration(&o.IDTokenTTL, "id-token-lifetime", time.Hour, "Lifetime of ID tokens.")
	s.Duration(&o.RefreshTokenTTL, "refresh-token-lifetime", 30*24*time.Hour, "Lifetime of a refresh token; each rotation starts it anew (sliding).")
	s.Duration(&o.RefreshGrace, "refresh-token-grace", oidc.DefaultRefreshGrace, "For this long after a rotation the rotated refresh token yields the same successor again (a retry after a lost answer), instead of counting as reuse (1s–1m).")
	s.Duration(&o.CodeTTL, "code-lifetime", time.Minute, "Lifetime of an authorization code.")
	s.StringList(&o.TrustedProxies, "trusted-proxies", nil, "CIDRs of reverse proxies whose X-Forwarded-For gives the client address (for rate limits and the event log).")
	o.gatewayOptions.register(s)
}

// check validates the options. notLocal is "" when the server can only be
// reached from this machine (see httpx.NotLocal), and otherwise says why not:
// the dev message sink is then refused.
func (o *idpOptions) check(s *cmdline.Set, p *cmdline.Problems, notLocal string, maxTokenLifetime time.Duration) {
	o.Esign.Check(s, p)
	o.Verify.Check(s, p, notLocal == "")
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"access-token-lifetime", o.AccessTokenTTL}, {"id-token-lifetime", o.IDTokenTTL}} {
		if d.v > maxTokenLifetime {
			p.Add("%s: %s exceeds max-token-lifetime (%s), which must cover everything signed", s.Source(d.name), d.v, maxTokenLifetime)
		}
	}
	o.config("", false).Validate(p.About(s))
	for _, c := range o.TrustedProxies {
		pr, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			p.Add("%s: %q is not a CIDR (e.g. 10.0.0.0/8)", s.Source("trusted-proxies"), c)
			continue
		}
		o.proxies = append(o.proxies, pr.Masked())
	}
	if o.gateways().Development() && notLocal != "" {
		p.Add("--smtp-addr or --sms-gateway-url: one is required unless addr and public-url are both loopback (%s): without a gateway every one-time code is shown at /dev/messages to whoever reaches the server", notLocal)
	}
	o.gateways().Validate(p.About(s))
}

func (o *idpOptions) argon2() password.Params {
	p := password.DefaultParams()
	p.Memory, p.Time, p.Threads = uint32(max(o.Argon2Memory, 0)), uint32(max(o.Argon2Time, 0)), uint8(min(max(o.Argon2Threads, 0), 255))
	return p
}

// buildIdP assembles the identity provider from the options.
// now is the clock of every store and flow (tests move it).
func buildIdP(o *idpOptions, issuer string, db *sqldb.DB, km *keys.Manager, log *slog.Logger, secure bool, now func() time.Time, reg prometheus.Registerer) (*idp.IdP, error) {
	out, sink, err := message.Open(o.gateways(), db, log)
	if err != nil {
		return nil, err
	}
	// Background work of every module, durable in the database.
	queue, err := jobs.New(db, jobs.Config{Logger: log, Now: now})
	if err != nil {
		return nil, err
	}
	c := o.config(issuer, secure)
	if o.Esign.TrustDir != "" {
		v, pool, err := o.Esign.Open(now)
		if err != nil {
			return nil, fmt.Errorf("e-signature trust list: %w", err)
		}
		c.ESignature = &idp.ESignature{Reload: pool.Reload, Verify: func(ctx context.Context, sig, content []byte) (*cms.Result, error) {
			return cms.Check(ctx, v, sig, content)
		}}
	}
	i, err := idp.New(c, idp.Platform{DB: db, Keys: km, Log: log, Messages: out, DevSink: sink, Jobs: queue, Now: now})
	if err == nil {
		_, err = verification.New(o.Verify, i, reg)
	}
	return i, err
}

// config is the identity provider's policy as the options give it.
func (o *idpOptions) config(issuer string, secure bool) idp.Config {
	return idp.Config{Issuer: issuer, Secure: secure, LockoutThreshold: o.LockoutThreshold, LockoutDuration: o.LockoutDuration,
		SessionIdleTimeout: o.SessionIdleTimeout, SessionLifetime: o.SessionLifetime, SessionIdleMin: o.SessionIdleMin, SessionIdleMax: o.SessionIdleMax,
		ReauthMaxAge: o.ReauthMaxAge, DeletionGrace: o.DeletionGrace, Argon2: o.argon2(), PasswordWait: o.PasswordWait,
		Tokens:     oidc.Lifetimes{AccessToken: o.AccessTokenTTL, IDToken: o.IDTokenTTL, RefreshToken: o.RefreshTokenTTL, Code: o.CodeTTL, RefreshGrace: o.RefreshGrace},
		CacheBound: o.CacheBound}
}
