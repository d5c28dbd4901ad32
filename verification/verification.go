package verification

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/verification/access"
	"github.com/gosid/gosid/verification/bank"
	"github.com/gosid/gosid/verification/bank/sandbox"
	"github.com/gosid/gosid/verification/check"
	"github.com/gosid/gosid/verification/desk"
	"github.com/gosid/gosid/verification/letter"
	"github.com/gosid/gosid/verification/partner"
	"github.com/gosid/gosid/verification/registry"
)

// Options configure the registries: the simulator (the default, for
// development and tests) or a real registry gateway.
type Options struct {
	RegistryURL                string
	ClientCert, ClientKey, CA  string
	Timeout                    time.Duration
	Attempts                   int
	SimulatorLatency, Deadline time.Duration
	// Argon2 hashes the passwords set on accounts banks registered; zero
	// (as gosid serve leaves it): the identity provider's own hasher.
	Argon2 password.Params
	// PartnerRate and PartnerBurst limit each bank's calls to the partner
	// API.
	PartnerRate, PartnerBurst int
}

// Register adds the options to s.
func (o *Options) Register(s *cmdline.Set) {
	s.String(&o.RegistryURL, "registry-url", "", "HTTPS URL of the registry gateway (СФР, МВД, ФНС checks; JSON, mutual TLS). Empty: the built-in simulator with the test identities of docs/verification.md — development only.")
	s.String(&o.ClientCert, "registry-client-cert", "", "PEM file of the client certificate Gosid presents to the registry gateway.")
	s.String(&o.ClientKey, "registry-client-key", "", "PEM file of the client certificate's private key.")
	s.String(&o.CA, "registry-ca", "", "PEM file of the CA certificates the gateway's certificate must chain to (empty: the system's).")
	s.Duration(&o.Timeout, "registry-timeout", registry.DefaultGatewayTimeout, "Time limit of one call to the registry gateway.")
	s.Int(&o.Attempts, "registry-attempts", registry.DefaultGatewayAttempts, "Calls per check and registry before it counts as unavailable (retried with back-off and jitter).")
	s.Duration(&o.SimulatorLatency, "registry-simulator-latency", registry.DefaultLatency, "How long the simulator takes to answer (without --registry-url).")
	s.Duration(&o.Deadline, "registry-retry-deadline", 24*time.Hour, "How long a check is retried while a registry is unavailable; then the citizen may send the data again.")
	s.Int(&o.PartnerRate, "partner-rate", partner.DefaultRate, "Requests per second each bank may make to the partner API /partner/v1 on average (then 429 with Retry-After).")
	s.Int(&o.PartnerBurst, "partner-burst", partner.DefaultBurst, "Requests each bank may make to the partner API at once, above --partner-rate.")
}

// Check validates the options; development says whether the simulator may
// run (no message gateway, loopback addresses).
func (o *Options) Check(s *cmdline.Set, p *cmdline.Problems, development bool) {
	switch {
	case o.RegistryURL == "" && !development:
		p.Add("%s: required outside development mode (the simulator confirms test identities only)", s.Source("registry-url"))
	case o.RegistryURL != "":
		if u, err := url.Parse(o.RegistryURL); err != nil || u.Scheme != "https" || u.Host == "" {
			p.Add("%s: %q is not an https URL", s.Source("registry-url"), o.RegistryURL)
		}
		p.Required(s, "registry-client-cert", o.ClientCert)
		p.Required(s, "registry-client-key", o.ClientKey)
	}
	if o.PartnerRate < 1 || o.PartnerBurst < 1 {
		p.Add("%s, %s: must be positive", s.Source("partner-rate"), s.Source("partner-burst"))
	}
	if o.Timeout <= 0 || o.Attempts < 1 || o.Deadline <= 0 || o.SimulatorLatency < 0 {
		p.Add("%s, %s, %s, %s: must be positive", s.Source("registry-timeout"), s.Source("registry-attempts"),
			s.Source("registry-retry-deadline"), s.Source("registry-simulator-latency"))
	}
}

// Registry is the registry the options configure.
func (o *Options) Registry(i *idp.IdP, reg prometheus.Registerer) (registry.Registry, error) {
	if o.RegistryURL == "" {
		return registry.NewSimulator(registry.SimulatorConfig{Latency: o.SimulatorLatency, NoLatency: o.SimulatorLatency == 0, Now: i.Now}), nil
	}
	return registry.NewGateway(registry.GatewayConfig{URL: o.RegistryURL, ClientCertFile: o.ClientCert, ClientKeyFile: o.ClientKey,
		CAFile: o.CA, Timeout: o.Timeout, Attempts: o.Attempts}, reg, i.Log)
}

// New assembles identity verification on the identity provider i: the
// registry checks (their job on i's queue, their pages in its account
// centre, started by its details form), with metrics in reg (nil: none).
func New(o Options, i *idp.IdP, reg prometheus.Registerer) (*check.Service, error) {
	r, err := o.Registry(i, reg)
	if err != nil {
		return nil, fmt.Errorf("registry gateway: %w", err)
	}
	svc, err := check.New(check.Config{Deadline: o.Deadline}, check.Deps{DB: i.DB, Jobs: i.Jobs, Accounts: i.Accounts, Registry: r,
		Verifier: i.Verifier, Notifier: i.Notifier, Sealer: i.Keys, Log: i.Log, Now: i.Now, Metrics: reg})
	if err != nil {
		return nil, err
	}
	h, err := check.NewHandler(svc, i.Sessions, i.Log)
	if err != nil {
		return nil, err
	}
	i.Mount(h.Routes)
	i.UseChecks(svc)

	// Banks: confirmation through a bank's ID service.
	banks := bank.NewStore(i.DB, i.Now)
	conn := bank.NewConnector(bank.Deps{DB: i.DB, Banks: banks, Sealer: i.Keys, Callback: strings.TrimSuffix(i.Issuer, "/") + "/bank/callback",
		Now: i.Now, Log: i.Log, Metrics: reg})
	bh, err := bank.NewHandler(conn, &bank.Confirmer{Banks: banks, Accounts: i.Accounts, Verifier: i.Verifier, Activity: i.Activity},
		banks, i.Sessions, i.Log)
	if err != nil {
		return nil, err
	}
	bh.SecureCookies(i.Secure)
	// Sign-in with a bank and linking (issue 15, item 4).
	bh.UseSignIn(bank.SignInDeps{SignIn: i.SignIn, Flows: i.Flows, Activity: i.Activity, Reauth: i.Reauth,
		Checks: svc, Limiter: i.Limiter, Now: i.Now})
	i.UseBanks(bh)
	i.UseBankRegistration(bh, bh.Evidence())
	i.Mount(bh.Routes)
	h.UseBanks(bh)
	if err := i.Jobs.AddPeriodic(jobs.Periodic{Name: "bank.flow_sweep", Every: 5 * time.Minute, Run: conn.Sweep}); err != nil {
		return nil, err
	}

	// The bank partner API.
	if _, err := NewPartner(partner.Config{Rate: o.PartnerRate, Burst: o.PartnerBurst}, i, banks, o.Argon2, reg); err != nil {
		return nil, err
	}

	// In person (issue 16): the citizen's code and the operators' desk,
	// where the temporary access code is issued too; every staff page
	// behind one gate.
	offices := staff.NewStore(i.DB, i.Activity, i.Now)
	gate, err := staff.NewGate(offices, i.Sessions, i.Accounts, i.Log)
	if err != nil {
		return nil, err
	}
	dh, err := desk.New(desk.Deps{DB: i.DB, Keys: i.Keys, Accounts: i.Accounts, Activity: i.Activity, Verifier: i.Verifier,
		Checks: svc, Notifier: i.Notifier, Offices: offices, Gate: gate, Sessions: i.Sessions, Log: i.Log, Now: i.Now})
	if err != nil {
		return nil, err
	}
	i.Mount(dh.Routes)
	h.UseWays(dh)
	if err := i.Jobs.AddPeriodic(jobs.Periodic{Name: "desk.code_sweep", Every: time.Hour, Run: dh.SweepExpired}); err != nil {
		return nil, err
	}
	if err := access.Mount(i, gate, dh.Store()); err != nil {
		return nil, err
	}

	// The confirmation code by registered letter (issue 16, item 5).
	letters := &letter.Service{Store: letter.NewStore(i.DB, i.Keys, i.Keys, i.Activity.Log(), i.Now), Accounts: i.Accounts,
		Verifier: i.Verifier, Notifier: i.Notifier, Log: i.Log, Now: i.Now}
	lh, err := letter.NewHandler(letters, i.Sessions, i.Reauth, i.Limiter, i.Log)
	if err != nil {
		return nil, err
	}
	i.Mount(lh.Routes)
	h.UseWays(lh)
	return svc, nil
}

// NewPartner mounts the bank partner API /partner/v1 on the identity
// provider i and schedules its sweeps.
func NewPartner(cfg partner.Config, i *idp.IdP, banks *bank.Store, argon2 password.Params, reg prometheus.Registerer) (*partner.Handler, error) {
	cfg.Issuer = i.Issuer
	// The identity provider's hasher: its parameters, and one bound on
	// the hashes the process runs at once.
	hasher := i.Recovery.Passwords
	if argon2 != (password.Params{}) {
		var err error
		if hasher, err = password.NewHasher(argon2, 0); err != nil {
			return nil, err
		}
	}
	ph, err := partner.New(cfg, partner.Deps{DB: i.DB, Tokens: i.Provider, Accounts: i.Accounts, Activity: i.Activity,
		Verifier: i.Verifier, Banks: banks, Notifier: i.Notifier, Jobs: i.Jobs, Log: i.Log, Now: i.Now,
		Metrics: reg, Passwords: hasher, Policy: password.DefaultPolicy(), Sessions: sessionStarter{i.Sessions}})
	if err != nil {
		return nil, err
	}
	i.Mount(ph.Routes)
	for _, p := range []jobs.Periodic{{Name: "partner.sweep", Run: ph.Sweep}, {Name: "partner.registration_sweep", Run: ph.SweepRegistrations},
		{Name: "partner.notice_sweep", Every: time.Minute, Run: ph.SweepNotices}} {
		if p.Every == 0 {
			p.Every = 5 * time.Minute
		}
		if err := i.Jobs.AddPeriodic(p); err != nil {
			return nil, err
		}
	}
	return ph, nil
}

// sessionStarter is session.Store for the activation page.
type sessionStarter struct{ s *session.Store }

func (s sessionStarter) Start(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) error {
	_, err := s.s.Start(w, r, accountID, amr, ip)
	return err
}

// Operator is what `gosid verification` works with: the checks (their job
// registered on a queue that this process does not run: a recheck is
// worked by the serving replicas) and the evidence.
type Operator struct {
	Checks   *check.Service
	Evidence *assurance.Service
	Accounts *account.Store
}

// OpenOperator opens the checks and the evidence on db for operators'
// commands.
func OpenOperator(db *sqldb.DB, km *keys.Manager, log *slog.Logger) (*Operator, error) {
	accounts := account.NewStore(db, km, time.Now)
	verifier := assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return accounts.With(q) }, audit.New(db, km, time.Now), km, time.Now)
	queue, err := jobs.New(db, jobs.Config{Logger: log})
	if err != nil {
		return nil, err
	}
	svc, err := check.New(check.Config{}, check.Deps{DB: db, Jobs: queue, Accounts: accounts, Verifier: verifier, Sealer: km, Log: log})
	if err != nil {
		return nil, err
	}
	return &Operator{Checks: svc, Evidence: verifier, Accounts: accounts}, nil
}

// Show writes an account's evidence and checks for an operator: what was
// verified, how, by whom and when, and each check's outcome — never a
// document number.
func (o *Operator) Show(ctx context.Context, w io.Writer, accountID string) error {
	// The checks first: a check ends in the transaction that records its
	// evidence, so evidence read after a finished check includes the
	// check's. Read the other way round, a check that ended in between
	// showed as confirmed with no evidence (CI's
	// TestRegistryCheckAcrossRestart met it).
	cs, err := o.Checks.List(ctx, accountID)
	if err != nil {
		return err
	}
	ev, err := o.Evidence.Evidence(ctx, accountID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "evidence (%d):\n", len(ev))
	for _, e := range ev {
		fmt.Fprintf(w, "  %s  %s %s:%s  %s  level=%s  id=%s\n", e.VerifiedAt.UTC().Format(time.DateTime), e.Method, e.Verifier.Kind,
			e.Verifier.ID, strings.Join(e.Claims, ","), cmp.Or(string(e.Level), "-"), e.ID)
	}
	fmt.Fprintf(w, "checks (%d):\n", len(cs))
	for _, c := range cs {
		fmt.Fprintf(w, "  %s  id=%s\n", c.Describe(), c.ID)
	}
	return nil
}

// SandboxBankID is the id the development sandbox bank is registered
// under.
const SandboxBankID = "sandbox"

// SandboxBank makes the development sandbox bank (verification/bank/sandbox)
// for the identity provider i: its OpenID provider, to be served at url
// (its own listener), and its registration as the bank "sandbox", with a
// client secret made anew at every start and kept in dir. Development mode
// only: the sandbox vouches for made-up customers.
func SandboxBank(ctx context.Context, i *idp.IdP, url, dir string) (http.Handler, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	path := filepath.Join(dir, "sandbox-bank.secret")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		return nil, err
	}
	sb, err := sandbox.New(sandbox.Config{Issuer: url, ClientID: "gosid", ClientSecret: secret,
		RedirectURIs: []string{strings.TrimSuffix(i.Issuer, "/") + "/bank/callback"}, Now: i.Now, Log: i.Log})
	if err != nil {
		return nil, err
	}
	fields := map[string]string{bank.FamilyName: "family_name", bank.GivenName: "given_name", bank.MiddleName: "middle_name",
		bank.BirthDate: "birthdate", bank.SNILS: "snils", bank.PassportSeries: "passport.series", bank.PassportNumber: "passport.number",
		bank.PassportIssueDate: "passport.issue_date", bank.INN: "inn", bank.Phone: "phone_number", bank.Email: "email"}
	reg := bank.Bank{ID: SandboxBankID, NameRU: "Песочница банка", NameEN: "Sandbox bank", Issuer: url, ClientID: "gosid",
		ClientSecretFile: path, Scopes: []string{"openid", "profile", "email", "phone"}, Claims: fields,
		Vouches: []string{bank.FamilyName, bank.GivenName, bank.MiddleName, bank.BirthDate, bank.SNILS, bank.PassportSeries,
			bank.PassportNumber, bank.PassportIssueDate, bank.INN},
		MayRegister: true, Sandbox: true}
	banks := bank.NewStore(i.DB, i.Now)
	err = banks.Update(ctx, reg)
	if errors.Is(err, sqldb.ErrNotFound) {
		err = banks.Add(ctx, reg)
	}
	if err != nil {
		return nil, err
	}
	i.Log.Warn("development mode: the sandbox bank (made-up customers) confirms identities", "sandbox_bank", url)
	return sb.Handler(), nil
}
