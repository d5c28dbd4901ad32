package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"github.com/gosid/gosid/idp/assurance"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/backupcode"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/esign"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/login"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/idp/passkey"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/profile"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/recovery"
	"github.com/gosid/gosid/idp/registration"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/totp"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/keys/cms"
)

// idpOptions configure the identity provider's sign-in, sessions and
// messages.
type idpOptions struct {
	LockoutThreshold   int
	LockoutDuration    time.Duration
	Esign              esignOptions
	SessionIdleTimeout time.Duration
	ReauthMaxAge       time.Duration
	SessionIdleMin     time.Duration
	SessionIdleMax     time.Duration
	DeletionGrace      time.Duration
	SessionLifetime    time.Duration
	Argon2Memory       int
	Argon2Time         int
	Argon2Threads      int
	TrustedProxies     []string
	AccessTokenTTL     time.Duration
	IDTokenTTL         time.Duration
	RefreshTokenTTL    time.Duration
	RefreshGrace       time.Duration
	CodeTTL            time.Duration

	SMTPAddr, SMTPFrom, SMTPUsername, SMTPPassword, SMTPStartTLS string
	SMTPImplicitTLS                                              bool
	SMSURL, SMSMethod, SMSAuthHeader, SMSAuthValue, SMSBody      string
	SMSContentType                                               string

	proxies []netip.Prefix
}

func (o *idpOptions) register(s *config.Set) {
	o.Esign.register(s)
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
	s.Duration(&o.AccessTokenTTL, "access-token-lifetime", 10*time.Minute, "Lifetime of access tokens.")
	s.Duration(&o.IDTokenTTL, "id-token-lifetime", time.Hour, "Lifetime of ID tokens.")
	s.Duration(&o.RefreshTokenTTL, "refresh-token-lifetime", 30*24*time.Hour, "Lifetime of a refresh token; each rotation starts it anew (sliding).")
	s.Duration(&o.RefreshGrace, "refresh-token-grace", oidc.DefaultRefreshGrace, "For this long after a rotation the rotated refresh token yields the same successor again (a retry after a lost answer), instead of counting as reuse (1s–1m).")
	s.Duration(&o.CodeTTL, "code-lifetime", time.Minute, "Lifetime of an authorization code.")
	s.StringList(&o.TrustedProxies, "trusted-proxies", nil, "CIDRs of reverse proxies whose X-Forwarded-For gives the client address (for rate limits and the event log).")
	s.String(&o.SMTPAddr, "smtp-addr", "", "SMTP submission server host:port for e-mail. With neither smtp-addr nor sms-gateway-url, messages go to the dev sink (/dev/messages): allowed only when addr and public-url are both loopback.")
	s.String(&o.SMTPFrom, "smtp-from", "Gosid <noreply@localhost>", "Sender of e-mails.")
	s.String(&o.SMTPUsername, "smtp-username", "", "SMTP user name (AUTH PLAIN/LOGIN).")
	s.SecretString(&o.SMTPPassword, "smtp-password", "", "SMTP password.")
	s.Enum(&o.SMTPStartTLS, "smtp-starttls", "require", []string{"require", "opportunistic", "none"}, "STARTTLS policy.")
	s.Bool(&o.SMTPImplicitTLS, "smtp-implicit-tls", false, "Speak TLS from the first byte (port 465).")
	s.String(&o.SMSURL, "sms-gateway-url", "", "HTTP SMS gateway endpoint.")
	s.String(&o.SMSMethod, "sms-gateway-method", "POST", "HTTP method of the SMS gateway.")
	s.String(&o.SMSAuthHeader, "sms-gateway-auth-header", "Authorization", "Header carrying the gateway credential.")
	s.SecretString(&o.SMSAuthValue, "sms-gateway-auth-value", "", "Gateway credential, e.g. \"Bearer …\".")
	s.String(&o.SMSBody, "sms-gateway-body-template", "", "Go text/template of the request body; sees .To .Phone .Text and json (default {\"to\":{{json .To}},\"text\":{{json .Text}}}).")
	s.String(&o.SMSContentType, "sms-gateway-content-type", "application/json", "Content-Type of the gateway request.")
}

// devMessages reports whether the dev sink replaces real gateways.
func (o *idpOptions) devMessages() bool { return o.SMTPAddr == "" && o.SMSURL == "" }

// check validates the options. notLocal is "" when the server can only be
// reached from this machine (see httpx.NotLocal), and otherwise says why not:
// the dev message sink is then refused.
func (o *idpOptions) check(s *config.Set, p *config.Problems, notLocal string, maxTokenLifetime time.Duration) {
	o.Esign.check(s, p)
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"access-token-lifetime", o.AccessTokenTTL}, {"id-token-lifetime", o.IDTokenTTL}} {
		if d.v > maxTokenLifetime {
			p.Add("%s: %s exceeds max-token-lifetime (%s), which must cover everything signed", s.Source(d.name), d.v, maxTokenLifetime)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"access-token-lifetime", o.AccessTokenTTL}, {"id-token-lifetime", o.IDTokenTTL}, {"refresh-token-lifetime", o.RefreshTokenTTL}, {"code-lifetime", o.CodeTTL}} {
		if d.v <= 0 {
			p.Add("%s: must be positive", s.Source(d.name))
		}
	}
	if o.RefreshGrace < time.Second || o.RefreshGrace > time.Minute {
		p.Add("%s: between 1s and 1m: long enough for a retry after a lost answer, short enough that reuse is still caught", s.Source("refresh-token-grace"))
	}
	if o.CodeTTL > 10*time.Minute {
		p.Add("%s: at most 10m (RFC 6749 recommends a short life)", s.Source("code-lifetime"))
	}
	if o.LockoutThreshold < 1 {
		p.Add("%s: must be at least 1", s.Source("lockout-threshold"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"lockout-duration", o.LockoutDuration}, {"session-idle-timeout", o.SessionIdleTimeout}, {"session-lifetime", o.SessionLifetime}, {"reauth-max-age", o.ReauthMaxAge}} {
		if d.v <= 0 {
			p.Add("%s: must be positive", s.Source(d.name))
		}
	}
	if o.SessionIdleMin > o.SessionIdleMax {
		p.Add("%s: must not exceed session-idle-timeout-max", s.Source("session-idle-timeout-min"))
	}
	if o.DeletionGrace < 24*time.Hour {
		p.Add("%s: at least 24h, so that a citizen can change their mind", s.Source("deletion-grace-period"))
	}
	if o.SessionIdleTimeout > o.SessionLifetime {
		p.Add("%s: must not exceed session-lifetime", s.Source("session-idle-timeout"))
	}
	if o.ReauthMaxAge > time.Hour {
		p.Add("%s: at most 1h: a stolen session must not be able to change the password or a contact for long", s.Source("reauth-max-age"))
	}
	if err := o.argon2().Validate(); err != nil {
		p.Add("%s: %v", s.Source("argon2-memory"), err)
	}
	for _, c := range o.TrustedProxies {
		pr, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			p.Add("%s: %q is not a CIDR (e.g. 10.0.0.0/8)", s.Source("trusted-proxies"), c)
			continue
		}
		o.proxies = append(o.proxies, pr.Masked())
	}
	if o.devMessages() && notLocal != "" {
		p.Add("--smtp-addr or --sms-gateway-url: one is required unless addr and public-url are both loopback (%s): without a gateway every one-time code is shown at /dev/messages to whoever reaches the server", notLocal)
	}
	if o.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(o.SMTPAddr); err != nil {
			p.Add("%s: %q is not host:port", s.Source("smtp-addr"), o.SMTPAddr)
		}
	}
}

// argon2Default is the hashing of accounts created outside serve (the
// admin CLI): the defaults; serve upgrades them at sign-in if it runs with
// other parameters.
func (o *idpOptions) argon2Default() password.Params { return password.DefaultParams() }

func (o *idpOptions) argon2() password.Params {
	p := password.DefaultParams()
	p.Memory, p.Time, p.Threads = uint32(max(o.Argon2Memory, 0)), uint32(max(o.Argon2Time, 0)), uint8(min(max(o.Argon2Threads, 0), 255))
	return p
}

// idpParts is the assembled identity provider.
type idpParts struct {
	provider *oidc.Provider
	accounts *account.Store
	acts     *account.Activity
	verifier *assurance.Service
	sweepers []jobs.Periodic
	// queue runs the modules' jobs (back-channel logouts, the sweepers)
	// once started.
	queue *jobs.Queue
	// reload re-reads what SIGHUP refreshes (the e-signature trust list).
	reload func() error
}

// senders are the platform's message senders: the development sink in
// dev mode, else SMTP and the SMS gateway as configured.
func (o *idpOptions) senders(db *sqldb.DB, log *slog.Logger) (message.Sender, *message.DevSink, error) {
	if o.devMessages() {
		sink := message.NewDevSink(db, log)
		return sink, sink, nil
	}
	route := message.Route{}
	var err error
	if o.SMTPAddr != "" {
		if route.Email, err = message.NewSMTP(message.SMTPConfig{Addr: o.SMTPAddr, From: o.SMTPFrom, Username: o.SMTPUsername,
			Password: message.Secret(o.SMTPPassword), StartTLS: o.SMTPStartTLS, ImplicitTLS: o.SMTPImplicitTLS}, log); err != nil {
			return nil, nil, err
		}
	}
	if o.SMSURL != "" {
		if route.SMS, err = message.NewHTTPSMS(message.HTTPSMSConfig{URL: o.SMSURL, Method: o.SMSMethod, AuthHeader: o.SMSAuthHeader,
			AuthValue: message.Secret(o.SMSAuthValue), BodyTemplate: o.SMSBody, ContentType: o.SMSContentType}, log, nil); err != nil {
			return nil, nil, err
		}
	}
	return route, nil, nil
}

// buildIdP wires the identity provider's pages onto mux.
// now is the clock of every store and flow (tests move it).
func buildIdP(mux *http.ServeMux, o *idpOptions, issuer string, db *sqldb.DB, km *keys.Manager, log *slog.Logger, secure bool, now func() time.Time) (*idpParts, error) {
	templates, err := notice.LoadTemplates()
	if err != nil {
		return nil, err
	}
	out, devSink, err := o.senders(db, log)
	if err != nil {
		return nil, err
	}
	// The identity provider's messages are rendered from its own templates
	// and handed to the platform's senders.
	sender := &notice.Outbox{Templates: templates, Out: out}

	hasher, err := password.NewHasher(o.argon2(), 0)
	if err != nil {
		return nil, err
	}
	policy := password.DefaultPolicy()
	accounts := account.NewStore(db, km, now)
	limiter := ratelimit.New(db, now)
	// The pepper of one-time codes: a per-installation secret that every
	// replica derives alike and no database dump contains in clear.
	codes, err := otp.New(db, limiter, otp.Config{Pepper: km.BlindIndex("otp-pepper", "v1"), Now: now})
	if err != nil {
		return nil, err
	}
	sessions := session.NewStore(db, session.Config{IdleTimeout: o.SessionIdleTimeout, Lifetime: o.SessionLifetime, Secure: secure, Now: now})
	// One rule for every sensitive change: an authentication this recent.
	reauth := session.Reauth{MaxAge: o.ReauthMaxAge, Now: now}
	flows := flow.NewStore(db, km, now).SecureCookies(secure)
	notifier := &notice.Notifier{Sender: sender, Log: log}
	acts := account.NewActivity(db, accounts, audit.New(db, km, now))
	// Levels change only here, with their evidence.
	verifier := assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return accounts.With(q) }, acts.Log(), km, now)
	// Every way of signing in starts its session through arrivals.
	arrivals := &login.Arrivals{Store: sessions, Accounts: accounts, Notifier: notifier, Secure: secure, Log: log, Now: now,
		Cancelled: func(ctx context.Context, accountID, ip string) error {
			return acts.Record(ctx, audit.Entry{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: accountID},
				Action: audit.ActionDeletionCancelled, IP: ip, Detail: map[string]string{"by": "sign_in"}})
		}}
	step := &codestep.Step{OTP: codes, Sender: sender, Log: log, TTL: 5 * time.Minute}

	// Background work of every module, durable in the database.
	queue, err := jobs.New(db, jobs.Config{Logger: log, Now: now})
	if err != nil {
		return nil, err
	}
	clients := client.NewCache(client.NewStore(db, now), 30*time.Second)
	var opKey [32]byte
	copy(opKey[:], km.BlindIndex("op-crypto-key", "v1"))
	provider, err := oidc.New(oidc.Config{Issuer: issuer, CryptoKey: opKey, Lifetimes: oidc.Lifetimes{
		AccessToken: o.AccessTokenTTL, IDToken: o.IDTokenTTL, RefreshToken: o.RefreshTokenTTL, Code: o.CodeTTL, RefreshGrace: o.RefreshGrace}},
		oidc.Deps{DB: db, Clients: clients, Accounts: accounts, Signer: km, Sessions: sessions, Limiter: limiter, Jobs: queue, Log: log, Now: now})
	if err != nil {
		return nil, fmt.Errorf("OpenID provider: %w", err)
	}

	totps := totp.NewStore(db, km, now)
	backups := backupcode.NewStore(db, km.BlindIndex("backup-code-pepper", "v1"), now)
	devices := &login.Devices{DB: db, Now: now, Secure: secure}

	pkCfg, err := passkey.ConfigFromPublicURL(issuer)
	if err != nil {
		return nil, err
	}
	pkCfg.Now = now
	passkeys, err := passkey.NewService(pkCfg, passkey.NewStore(db, now), accounts, log)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	lcfg := login.DefaultConfig()
	lcfg.MaxFailures, lcfg.LockFor, lcfg.Now = o.LockoutThreshold, o.LockoutDuration, now
	lcfg.ESignature = o.Esign.TrustDir != ""
	lh, err := login.New(lcfg, login.Deps{Accounts: accounts, Passwords: hasher, Limiter: limiter, Sessions: arrivals, Notifier: notifier,
		Log: log, OnSignOut: provider.SessionEnded,
		MFA: login.MFADeps{TOTP: totps, Backup: backups, Codes: step, Flows: flows, Devices: devices,
			Get: accounts.Get, AddAuthentication: sessions.AddAuthentication,
			Passkeys: passkeys, HasPasskeys: func(ctx context.Context, id string) bool {
				creds, err := passkeys.Store().List(ctx, id)
				return err == nil && len(creds) > 0 && passkeys.Available()
			}},
		LoginKey: func(kind, value string) string {
			return hex.EncodeToString(km.BlindIndex("login-rate", kind+":"+value))
		}})
	if err != nil {
		return nil, fmt.Errorf("login pages: %w", err)
	}
	// Sessions ended wholesale (the others after a password change, all
	// after a recovery) are told to the provider like any other ending.
	told := endingSessions{store: sessions, ended: provider.SessionEnded, log: log}
	// E-signature first: its proofs carry into registration.
	var evidence registration.Evidence
	reload := func() error { return nil }
	if o.Esign.TrustDir != "" {
		v, pool, err := o.Esign.verifier(now)
		if err != nil {
			return nil, fmt.Errorf("e-signature trust list: %w", err)
		}
		reload = pool.Reload
		eh, err := esign.New(esign.Deps{
			Verify: func(ctx context.Context, sig, content []byte) (*cms.Result, error) {
				return cms.Check(ctx, v, sig, content)
			},
			Store: esign.NewStore(db, km, now), Accounts: accounts, Sessions: arrivals, Flows: flows, Record: acts.Record, Limiter: limiter,
			Verifier: verifier, Notifier: notifier,
			Log: log, Now: now, Reauth: reauth})
		if err != nil {
			return nil, fmt.Errorf("e-signature pages: %w", err)
		}
		eh.Routes(mux)
		evidence = eh
	}
	rh, err := registration.New(registration.Deps{Accounts: accounts, Passwords: hasher, Policy: policy, Flows: flows, Codes: step,
		Sessions: arrivals, Evidence: evidence, Log: log, Now: now})
	if err != nil {
		return nil, fmt.Errorf("registration pages: %w", err)
	}
	ch, err := recovery.New(recovery.Deps{Accounts: accounts, Passwords: hasher, Policy: policy, Flows: flows, Codes: step,
		Sessions: told, Notifier: notifier, Log: log, Forget: devices.Forget, Record: acts.Record,
		SignIn: &recovery.SignIn{Passwords: hasher, Accounts: accounts, MaxFailures: o.LockoutThreshold, LockFor: o.LockoutDuration,
			Start: func(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) error {
				_, err := arrivals.Start(w, r, accountID, amr, ip)
				return err
			},
			SecondFactor: lh.BeginSecondFactor}})
	if err != nil {
		return nil, fmt.Errorf("recovery pages: %w", err)
	}
	ph, err := profile.New(profile.Deps{Accounts: accounts, Sessions: sessions, Log: log, Now: now,
		Security: profile.SecurityDeps{TOTP: totps, Backup: backups, Codes: step, SetMFA: accounts.SetMFA, Forget: devices.Forget, AddEvent: accounts.AddEvent},
		Centre:   profile.CentreDeps{Sessions: sessions, Grants: provider, Ended: provider.SessionEnded},
		Password: profile.PasswordDeps{Verify: hasher.Verify, Hash: hasher.Hash, Policy: policy, SetPassword: accounts.SetPassword,
			EndOthers: told.EndAll, Notify: notifier.Account, AddEvent: accounts.AddEvent, Forget: devices.Forget},
		Data: profile.DataDeps{Grace: o.DeletionGrace, EndAll: sessions.EndAll, Extra: func(ctx context.Context, id string) (map[string]any, error) {
			keys, err := passkeys.Export(ctx, id)
			if err != nil {
				return nil, err
			}
			app, err := totps.Enabled(ctx, id)
			return map[string]any{"passkeys": keys, "authenticator_app": app}, err
		}},
		Activity: acts, Events: accounts, Flows: flows, Notifier: notifier,
		Idle:    profile.IdleTimeouts{Default: o.SessionIdleTimeout, Min: o.SessionIdleMin, Max: min(o.SessionIdleMax, o.SessionLifetime)},
		SetIdle: sessions.SetIdleTimeout, ESignature: o.Esign.TrustDir != "",
		Reauth: reauth, Undo: profile.UndoDeps{PublicURL: issuer, Links: accounts}})
	if err != nil {
		return nil, fmt.Errorf("account pages: %w", err)
	}

	pkh, err := passkey.New(passkey.Deps{Service: passkeys, Accounts: accounts, Sessions: arrivals, Limiter: limiter,
		Log: log, Now: now, Reauth: reauth,
		Record: acts.Record})
	if err != nil {
		return nil, fmt.Errorf("passkey pages: %w", err)
	}

	mux.Handle("GET /static/", webui.Static())
	provider.Routes(mux)
	lh.Routes(mux)
	rh.Routes(mux)
	ch.Routes(mux)
	ph.Routes(mux)
	pkh.Routes(mux)
	if devSink != nil {
		h := devSink.Handler()
		mux.Handle("GET /dev/messages", h)
		mux.Handle("GET /dev/messages.json", h)
		log.Warn("development mode: messages, including one-time codes, are shown at /dev/messages instead of being sent")
	}
	// Expired rows go, and accounts past their deletion grace are erased,
	// every five minutes, by one replica at a time.
	sweepers := []jobs.Periodic{
		{Name: "ratelimit.sweep", Run: limiter.Sweep}, {Name: "otp.sweep", Run: codes.Sweep},
		{Name: "session.sweep", Run: sessions.Sweep}, {Name: "flow.sweep", Run: flows.Sweep},
		{Name: "oidc.sweep", Run: provider.Sweep}, {Name: "passkey.sweep", Run: passkeys.Sweep},
		{Name: "account.erase_due", Run: func(ctx context.Context) (int, error) { return acts.EraseDue(ctx, now(), log) }},
		{Name: "login.device_sweep", Run: devices.Sweep}, {Name: "account.undo_sweep", Run: accounts.SweepUndos},
	}
	for i := range sweepers {
		sweepers[i].Every = 5 * time.Minute
		if err := queue.AddPeriodic(sweepers[i]); err != nil {
			return nil, err
		}
	}
	return &idpParts{provider: provider, accounts: accounts, acts: acts, verifier: verifier, sweepers: sweepers, queue: queue, reload: reload}, nil
}

// endingSessions ends every session of an account but one, as
// session.Store.EndAll does, and tells the OpenID provider of each one it
// ended — expired ones too, whose refresh tokens outlive them — so that
// their tokens are revoked and their sites told.
type endingSessions struct {
	store *session.Store
	ended func(ctx context.Context, accountID, sessionID string) error
	log   *slog.Logger
}

func (e endingSessions) EndAll(ctx context.Context, accountID, exceptID string) (int, error) {
	ids, live, err := e.store.EndEach(ctx, accountID, exceptID)
	for _, id := range ids {
		if err := e.ended(ctx, accountID, id); err != nil {
			e.log.ErrorContext(ctx, "after ending a session", "err", err)
		}
	}
	return live, err
}
