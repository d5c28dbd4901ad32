package idp

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/backupcode"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/esign"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/legal"
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
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/idp/totp"
	"github.com/gosid/gosid/internal/cache"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/keys/cms"
)

// Config is the identity provider's policy, as the operator set it. The
// command line validates it (naming its flags); New trusts it.
type Config struct {
	// Issuer is the public URL, the OpenID issuer and the passkeys'
	// relying party.
	Issuer string
	// Secure: the public URL is https, so cookies are Secure.
	Secure bool

	LockoutThreshold int
	LockoutDuration  time.Duration

	SessionIdleTimeout time.Duration
	SessionLifetime    time.Duration
	// SessionIdleMin and SessionIdleMax bound the idle timeout a citizen
	// may choose.
	SessionIdleMin, SessionIdleMax time.Duration
	ReauthMaxAge                   time.Duration
	DeletionGrace                  time.Duration

	Argon2 password.Params
	// PasswordWait bounds a password sign-in, from the request's arrival
	// to its answer (password.Hasher.SetBudget): a sign-in that could not
	// be done within it is answered 503 with Retry-After at once (0: no
	// bound beyond the request's own).
	PasswordWait time.Duration
	Tokens       oidc.Lifetimes
	// CacheBound is the longest a replica answers userinfo from its cache
	// after another replica's committed change made the answer wrong
	// (internal/cache; 0: cache.DefaultBound; negative: no cache).
	CacheBound time.Duration

	// ESignature is nil when e-signature sign-in is off.
	ESignature *ESignature
}

// ESignature is how certificates are checked.
type ESignature struct {
	// Verify checks a detached CMS signature of content against the trust
	// list.
	Verify func(ctx context.Context, sig, content []byte) (*cms.Result, error)
	// Reload re-reads the trust list (on SIGHUP).
	Reload func() error
}

// Platform is what the identity provider takes from the platform layer.
type Platform struct {
	DB   *sqldb.DB
	Keys *keys.Manager
	Log  *slog.Logger
	// Messages sends the identity provider's rendered messages.
	Messages message.Sender
	// DevSink, when not nil, shows sent messages at /dev/messages
	// (development mode only).
	DevSink *message.DevSink
	// Jobs is the queue of background work; the IdP adds its jobs to it.
	Jobs *jobs.Queue
	// Now is the clock of every store and flow (tests move it).
	Now func() time.Time
}

// IdP is the assembled identity provider.
type IdP struct {
	// Issuer is the public URL.
	Issuer   string
	Provider *oidc.Provider
	Accounts *account.Store
	Activity *account.Activity
	Verifier *assurance.Service
	// Sweeps delete expired rows and erase accounts whose deletion is due:
	// periodic jobs on the queue, every five minutes by one replica.
	Sweeps []jobs.Periodic
	// Jobs is the platform's queue, which runs the IdP's jobs once started
	// (back-channel logouts, the sweeps).
	Jobs *jobs.Queue
	// Reload re-reads what SIGHUP refreshes (the e-signature trust list).
	Reload func() error
	// What modules built on the identity provider (verification) use.
	Notifier *notice.Notifier
	// Messages sends rendered messages through the configured gateways
	// (the portal inside gosid serve renders its own).
	Messages message.Sender
	// ESignature checks qualified e-signatures against the trust list
	// (reloaded on SIGHUP), for modules that check citizens' signatures
	// too; nil when e-signature sign-in is off.
	ESignature *ESignature
	Sessions   *session.Store
	// Cache invalidates this replica's caches from the database's
	// invalidation log; its Run must run while serving (nil: no cache).
	Cache *cache.Watcher
	DB    *sqldb.DB
	Keys  *keys.Manager
	Log   *slog.Logger
	Now   func() time.Time
	// Secure: the public URL is https, so cookies are Secure (and named
	// with webui.HostPrefix).
	Secure bool

	// Flows keep a browser's state between requests, sealed in the
	// database; Reauth is the rule of sensitive changes; SignIn completes a
	// sign-in another party proved (login.Handler.Federated).
	Flows  *flow.Store
	Reauth session.Reauth
	SignIn func(w http.ResponseWriter, r *http.Request, accountID, next string) bool
	// Limiter counts attempts in the database (every replica sees them).
	Limiter *ratelimit.Limiter
	// Recovery is what resetting a password and phone away from the
	// recovery pages needs (verification/access).
	Recovery Recovery

	mux      *http.ServeMux
	checks   *lateChecks
	login    *login.Handler
	register *registration.Handler
}

// UseBanks offers «Войти через …» on the sign-in page for b's banks
// (before serving).
func (i *IdP) UseBanks(b login.Banks) { i.login.UseBanks(b) }

// UseBankRegistration offers «Зарегистрироваться через банк» for b's
// banks and carries e, the bank's vouched data, into registration (before
// serving).
func (i *IdP) UseBankRegistration(b registration.Banks, e registration.Evidence) {
	i.register.UseBanks(b, e)
}

// Mount adds a module's pages to the identity provider's, inside its
// middleware (before serving).
func (i *IdP) Mount(routes func(mux *http.ServeMux)) { routes(i.mux) }

// RunCache runs the cache's watcher (Cache.Run) until ctx ends; without a
// cache it returns at once.
func (i *IdP) RunCache(ctx context.Context) error {
	if i.Cache == nil {
		return nil
	}
	return i.Cache.Run(ctx)
}

// UseChecks plugs in the registry checks the account centre starts
// (before serving).
func (i *IdP) UseChecks(c profile.Checks) { i.checks.c = c }

// lateChecks forwards to the registry checks once UseChecks set them;
// until then there are none.
type lateChecks struct{ c profile.Checks }

func (l *lateChecks) Queue(ctx context.Context, tx *sqldb.Tx, accountID string) (bool, error) {
	if l.c == nil {
		return false, nil
	}
	return l.c.Queue(ctx, tx, accountID)
}

func (l *lateChecks) Status(ctx context.Context, accountID string) (string, error) {
	if l.c == nil {
		return "", nil
	}
	return l.c.Status(ctx, accountID)
}

// New assembles the identity provider's stores, flows and pages.
func New(c Config, p Platform) (*IdP, error) {
	templates, err := notice.LoadTemplates()
	if err != nil {
		return nil, err
	}
	db, km, log, now, secure := p.DB, p.Keys, p.Log, p.Now, c.Secure
	// The identity provider's messages are rendered from its own templates
	// and handed to the platform's senders.
	sender := &notice.Outbox{Templates: templates, Out: p.Messages}

	hasher, err := password.NewHasher(c.Argon2, 0)
	if err != nil {
		return nil, err
	}
	hasher.SetBudget(c.PasswordWait)
	policy := password.DefaultPolicy()
	accounts := account.NewStore(db, km, now)
	limiter := ratelimit.New(db, now)
	// The pepper of one-time codes: a per-installation secret that every
	// replica derives alike and no database dump contains in clear.
	codes, err := otp.New(db, limiter, otp.Config{Pepper: km.BlindIndex("otp-pepper", "v1"), Now: now})
	if err != nil {
		return nil, err
	}
	sessions := session.NewStore(db, session.Config{IdleTimeout: c.SessionIdleTimeout, Lifetime: c.SessionLifetime, Secure: secure, Now: now,
		Started: func(ctx context.Context, accountID, lang string) {
			// The sign-in stands even when this fails: notices then keep
			// the language before.
			if err := accounts.SetLang(ctx, accountID, lang); err != nil {
				log.WarnContext(ctx, "account language", "err", err)
			}
		}})
	// One rule for every sensitive change: an authentication this recent.
	reauth := session.Reauth{MaxAge: c.ReauthMaxAge, Now: now}
	flows := flow.NewStore(db, km, now).SecureCookies(secure)
	// A notice is a side effect of its request (its failure is only
	// logged): the request waits for the gateway no longer than
	// NoticeWait; a code's page waits up to the step's default budget
	// (2 s), as a gateway's refusal then is worth showing.
	notifier := &notice.Notifier{Sender: sender, Log: log, Budget: notice.Budget{Wait: notice.NoticeWait}}
	acts := account.NewActivity(db, accounts, audit.New(db, km, now))
	// Levels change only here, with their evidence.
	verifier := assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return accounts.With(q) }, acts.Log(), km, now)
	// Registry checks are verification's, which builds on this: UseChecks
	// plugs them in before serving.
	checks := &lateChecks{}
	// Every way of signing in starts its session through arrivals.
	arrivals := &login.Arrivals{Store: sessions, Accounts: accounts, Notifier: notifier, Activity: acts, Secure: secure, Log: log, Now: now}
	step := &codestep.Step{OTP: codes, Sender: sender, Log: log, TTL: 5 * time.Minute}

	clients := client.NewCache(client.NewStore(db, now), 30*time.Second)
	var watcher *cache.Watcher
	if c.CacheBound >= 0 {
		watcher = cache.NewWatcher(db, cache.Config{Bound: c.CacheBound, Now: now, Log: log})
	}
	var opKey [32]byte
	copy(opKey[:], km.BlindIndex("op-crypto-key", "v1"))
	provider, err := oidc.New(oidc.Config{Issuer: c.Issuer, CryptoKey: opKey, Lifetimes: c.Tokens},
		oidc.Deps{DB: db, Clients: clients, Accounts: accounts, Signer: km, Sessions: sessions, Limiter: limiter, Jobs: p.Jobs, Evidence: verifier, Cache: watcher,
			Roles: staff.NewStore(db, acts, now), Log: log, Now: now})
	if err != nil {
		return nil, fmt.Errorf("OpenID provider: %w", err)
	}

	totps := totp.NewStore(db, km, now)
	backups := backupcode.NewStore(db, km.BlindIndex("backup-code-pepper", "v1"), now)
	devices := &login.Devices{DB: db, Now: now, Secure: secure}

	pkCfg, err := passkey.ConfigFromPublicURL(c.Issuer)
	if err != nil {
		return nil, err
	}
	pkCfg.Now = now
	pkStore := passkey.NewStore(db, now)
	passkeys, err := passkey.NewService(pkCfg, pkStore, accounts, log)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	lcfg := login.DefaultConfig()
	lcfg.MaxFailures, lcfg.LockFor, lcfg.Now = c.LockoutThreshold, c.LockoutDuration, now
	lcfg.ESignature = c.ESignature != nil
	lcfg.Secure = secure
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
	mux := http.NewServeMux()
	// E-signature first: its proofs carry into registration.
	var evidence registration.Evidence
	reload := func() error { return nil }
	if e := c.ESignature; e != nil {
		reload = e.Reload
		eh, err := esign.New(esign.Deps{Verify: e.Verify,
			Store: esign.NewStore(db, km, now), Accounts: accounts, Sessions: arrivals, Flows: flows, Activity: acts, Limiter: limiter,
			Verifier: verifier, Notifier: notifier,
			Log: log, Now: now, Reauth: reauth})
		if err != nil {
			return nil, fmt.Errorf("e-signature pages: %w", err)
		}
		eh.Routes(mux)
		evidence = eh
	}
	rh, err := registration.New(registration.Deps{Accounts: accounts, Activity: acts, Passwords: hasher, Policy: policy, Flows: flows, Codes: step,
		Sessions: arrivals, Evidence: evidence, Log: log, Now: now})
	if err != nil {
		return nil, fmt.Errorf("registration pages: %w", err)
	}
	ch, err := recovery.New(recovery.Deps{Accounts: accounts, Passwords: hasher, Policy: policy, Flows: flows, Codes: step,
		Sessions: told, Notifier: notifier, Log: log, Forget: devices.Forget, Activity: acts,
		SignIn: &recovery.SignIn{Passwords: hasher, Accounts: accounts, MaxFailures: c.LockoutThreshold, LockFor: c.LockoutDuration,
			Start: func(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) error {
				_, err := arrivals.Start(w, r, accountID, amr, ip)
				return err
			},
			SecondFactor: lh.BeginSecondFactor}})
	if err != nil {
		return nil, fmt.Errorf("recovery pages: %w", err)
	}
	ph, err := profile.New(profile.Deps{Accounts: accounts, Sessions: sessions, Log: log, Now: now,
		Security: profile.SecurityDeps{TOTP: totps, Backup: backups, Codes: step, Forget: devices.Forget, AddEvent: accounts.AddEvent,
			BackupIn: func(q sqldb.Runner) profile.BackupStore { return backups.With(q) },
			TOTPIn:   func(q sqldb.Runner) profile.TOTPStore { return totps.With(q) }},
		Centre: profile.CentreDeps{Sessions: sessions, Grants: provider, Ended: provider.SessionEnded,
			SessionsIn: func(q sqldb.Runner) profile.SessionAdmin { return sessions.With(q) }},
		Password: profile.PasswordDeps{Verify: hasher.Verify, Hash: hasher.Hash, Policy: policy,
			EndOthers: told.EndAll, Notify: notifier.Account, AddEvent: accounts.AddEvent, Forget: devices.Forget},
		Data: profile.DataDeps{Grace: c.DeletionGrace, EndAll: sessions.EndAll, Extra: func(ctx context.Context, id string) (map[string]any, error) {
			keys, err := passkeys.Export(ctx, id)
			if err != nil {
				return nil, err
			}
			app, err := totps.Enabled(ctx, id)
			return map[string]any{"passkeys": keys, "authenticator_app": app}, err
		}},
		Activity: acts, Events: accounts, Flows: flows, Notifier: notifier,
		Idle:    profile.IdleTimeouts{Default: c.SessionIdleTimeout, Min: c.SessionIdleMin, Max: min(c.SessionIdleMax, c.SessionLifetime)},
		SetIdle: sessions.SetIdleTimeout, ESignature: c.ESignature != nil,
		Reauth: reauth, Undo: profile.UndoDeps{PublicURL: c.Issuer, Links: accounts}, Checks: checks})
	if err != nil {
		return nil, fmt.Errorf("account pages: %w", err)
	}

	pkh, err := passkey.New(passkey.Deps{Service: passkeys, Accounts: accounts, Sessions: arrivals, Limiter: limiter,
		Log: log, Now: now, Reauth: reauth,
		Activity: acts, StoreIn: func(q sqldb.Runner) passkey.Storage { return pkStore.With(q) }})
	if err != nil {
		return nil, fmt.Errorf("passkey pages: %w", err)
	}

	docs, err := legal.New(log)
	if err != nil {
		return nil, fmt.Errorf("user agreement pages: %w", err)
	}
	docs.Routes(mux)
	mux.Handle("GET /static/", webui.Static())
	mux.Handle("GET /keys", km.JWKSHandler())
	// Liveness may be public; readiness and metrics reveal internals and
	// live on the management listener only.
	mux.Handle("GET /healthz", httpx.Healthz())
	provider.Routes(mux)
	lh.Routes(mux)
	rh.Routes(mux)
	ch.Routes(mux)
	ph.Routes(mux)
	pkh.Routes(mux)
	if p.DevSink != nil {
		h := p.DevSink.Handler()
		mux.Handle("GET /dev/messages", h)
		mux.Handle("GET /dev/messages.json", h)
		log.Warn("development mode: messages, including one-time codes, are shown at /dev/messages instead of being sent")
	}
	// Expired rows go, and accounts past their deletion grace are erased,
	// every five minutes, by one replica at a time.
	sweeps := []jobs.Periodic{
		{Name: "ratelimit.sweep", Run: limiter.Sweep}, {Name: "otp.sweep", Run: codes.Sweep},
		{Name: "session.sweep", Run: sessions.Sweep}, {Name: "flow.sweep", Run: flows.Sweep},
		{Name: "oidc.sweep", Run: provider.Sweep}, {Name: "passkey.sweep", Run: passkeys.Sweep},
		{Name: "account.erase_due", Run: func(ctx context.Context) (int, error) { return acts.EraseDue(ctx, now(), log) }},
		{Name: "login.device_sweep", Run: devices.Sweep}, {Name: "account.undo_sweep", Run: accounts.SweepUndos},
		{Name: "account.login_lock_sweep", Run: accounts.SweepLoginLocks},
	}
	for i := range sweeps {
		sweeps[i].Every = 5 * time.Minute
		if err := p.Jobs.AddPeriodic(sweeps[i]); err != nil {
			return nil, err
		}
	}
	return &IdP{Issuer: c.Issuer, Provider: provider, Accounts: accounts, Activity: acts, Verifier: verifier, Sweeps: sweeps, Jobs: p.Jobs,
		Reload: reload, Notifier: notifier, Messages: p.Messages, ESignature: c.ESignature, Sessions: sessions, Cache: watcher, DB: db, Keys: km, Log: log, Now: now, Secure: secure, mux: mux, checks: checks,
		Flows: flows, Reauth: reauth, SignIn: lh.Federated, Limiter: limiter, login: lh, register: rh,
		Recovery: Recovery{Codes: step, Passwords: hasher, Policy: policy, EndAll: told.EndAll, Forget: devices.Forget}}, nil
}

// Recovery is the identity provider's recovery tools for modules: the
// "we sent you a code" step, password hashing and policy, ending every
// session of an account (its sites told) and forgetting its remembered
// devices.
type Recovery struct {
	Codes     *codestep.Step
	Passwords *password.Hasher
	Policy    password.Policy
	EndAll    func(ctx context.Context, accountID, exceptID string) (int, error)
	Forget    func(ctx context.Context, accountID string) error
}

// Handler is the identity provider's pages and endpoints inside its
// middleware: cross-origin protection, then the body limits (a refused
// cross-origin post is not even read), inside httpx.Wrap, which must see
// the very request the mux matched; the language cookie outside it, since
// RememberLang passes a copy on. opts.TLS (the public URL is https) also
// names the language cookie. The OpenID provider's endpoints that
// authenticate by client or bearer token, not by cookie, bypass the
// cross-origin filter (they answer CORS themselves).
func (i *IdP) Handler(opts httpx.Options) http.Handler {
	if opts.ErrorPage == nil {
		opts.ErrorPage = webui.ErrorPage // a panic's 500, branded
	}
	return webui.RememberLang(httpx.Wrap("idp", webui.Protect(webui.LimitBodies(webui.WithErrorPages(i.mux, nil)), i.Provider.CrossOriginEndpoints()...), opts), opts.TLS)
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
