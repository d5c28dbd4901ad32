package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "gosid-load:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "gosid-load:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// allSteps are the steps in their default order.
var allSteps = []string{"signin", "code", "refresh", "userinfo", "introspect", "client_credentials", "discovery", "jwks"}

// needsUser are the steps that need the authorization-code client and an
// account.
var needsUser = []string{"signin", "code", "refresh", "userinfo", "introspect"}

type config struct {
	Issuer       *url.URL
	ClientID     string
	ClientSecret string
	RedirectURI  string
	Scope        string
	Login        string
	Password     string

	CCClientID     string
	CCClientSecret string
	CCScope        string
	CCAuthPost     bool

	Concurrency int
	Duration    time.Duration
	MaxRequests int64
	Timeout     time.Duration
	Steps       []string
	JSON        bool

	Argon2Memory  uint32
	Argon2Time    uint32
	Argon2Threads uint8
	Calibrate     time.Duration
	ServerCores   int

	AllowRemote bool
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("gosid-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		issuer, steps, ccAuth string
		a2mem, a2time, a2thr  uint
		c                     config
	)
	fs.StringVar(&issuer, "issuer", "", "issuer URL of the running Gosid server (loopback only unless --allow-remote)")
	fs.StringVar(&c.ClientID, "client-id", "", "authorization-code client (first-party, client_secret_basic, grants authorization_code,refresh_token)")
	fs.StringVar(&c.ClientSecret, "client-secret", "", "its secret (or GOSID_LOAD_CLIENT_SECRET)")
	fs.StringVar(&c.RedirectURI, "redirect-uri", "", "a redirect URI registered for the client; never contacted")
	fs.StringVar(&c.Scope, "scope", "openid fullname offline_access", "scope of the authorization requests; offline_access is needed for refresh")
	fs.StringVar(&c.Login, "login", "", "phone or e-mail of the account that signs in")
	fs.StringVar(&c.Password, "password", "", "its password (or GOSID_LOAD_PASSWORD, which other users cannot see in ps)")
	fs.StringVar(&c.CCClientID, "cc-client-id", "", "client_credentials client, for the client_credentials step")
	fs.StringVar(&c.CCClientSecret, "cc-client-secret", "", "its secret (or GOSID_LOAD_CC_CLIENT_SECRET)")
	fs.StringVar(&c.CCScope, "cc-scope", "", "scope of the client_credentials requests (default: none)")
	fs.StringVar(&ccAuth, "cc-auth-method", "client_secret_basic", "client_secret_basic or client_secret_post, as registered for the cc client")
	fs.IntVar(&c.Concurrency, "concurrency", 2*runtime.GOMAXPROCS(0), "concurrent workers (each a sequential client)")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "how long each step runs")
	fs.Int64Var(&c.MaxRequests, "max-requests", 1_000_000, "safety cap: HTTP requests per step")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "timeout of one HTTP request")
	fs.StringVar(&steps, "steps", "", "comma-separated steps: "+strings.Join(allSteps, ",")+
		" (default: all; client_credentials only with --cc-client-id)")
	fs.BoolVar(&c.JSON, "json", false, "print the results as JSON instead of a table")
	fs.UintVar(&a2mem, "argon2-memory", 19456, "argon2id memory in KiB, as the server's --argon2-memory")
	fs.UintVar(&a2time, "argon2-time", 2, "argon2id passes, as the server's --argon2-time")
	fs.UintVar(&a2thr, "argon2-threads", 1, "argon2id lanes, as the server's --argon2-threads")
	fs.DurationVar(&c.Calibrate, "calibrate", 500*time.Millisecond, "how long each limit is measured at start; 0 skips the limits")
	fs.IntVar(&c.ServerCores, "server-cores", 0, "cores the server may use (e.g. 1 under taskset -c 0): limits become per-core rate × this; "+
		"0: the rate measured with GOMAXPROCS goroutines")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a non-loopback issuer (only with the permission of whoever runs it)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gosid-load --issuer URL [options]\n\nDrives a running Gosid server with OpenID Connect traffic, one step after another,\n"+
			"and compares each step's throughput with the raw cryptography it needs. See `go doc ./cmd/gosid-load`.\n\nOptions:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageErr("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usageErr("unexpected arguments %q", fs.Args())
	}
	for _, e := range []struct {
		v   *string
		env string
	}{{&c.ClientSecret, "GOSID_LOAD_CLIENT_SECRET"}, {&c.Password, "GOSID_LOAD_PASSWORD"}, {&c.CCClientSecret, "GOSID_LOAD_CC_CLIENT_SECRET"}} {
		if *e.v == "" {
			*e.v = getenv(e.env)
		}
	}
	if issuer == "" {
		return nil, usageErr("--issuer is required")
	}
	u, err := url.Parse(strings.TrimRight(issuer, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usageErr("--issuer %q: want http(s)://host[:port][/path]", issuer)
	}
	c.Issuer = u
	switch ccAuth {
	case "client_secret_basic":
	case "client_secret_post":
		c.CCAuthPost = true
	default:
		return nil, usageErr("--cc-auth-method %q: want client_secret_basic or client_secret_post", ccAuth)
	}
	if c.Concurrency < 1 || c.Concurrency > 10000 {
		return nil, usageErr("--concurrency %d: want 1 to 10000", c.Concurrency)
	}
	if c.Duration <= 0 || c.MaxRequests < 1 || c.Timeout <= 0 || c.Calibrate < 0 || c.ServerCores < 0 {
		return nil, usageErr("--duration, --max-requests and --timeout must be positive; --calibrate and --server-cores not negative")
	}
	if a2mem < 8 || a2mem > 1<<22 || a2time < 1 || a2time > 100 || a2thr < 1 || a2thr > 255 {
		return nil, usageErr("argon2 parameters out of range")
	}
	c.Argon2Memory, c.Argon2Time, c.Argon2Threads = uint32(a2mem), uint32(a2time), uint8(a2thr)

	if steps == "" {
		for _, s := range allSteps {
			if s == "client_credentials" && c.CCClientID == "" {
				continue
			}
			c.Steps = append(c.Steps, s)
		}
	} else {
		for s := range strings.SplitSeq(steps, ",") {
			s = strings.TrimSpace(s)
			if s == "signin+code" {
				s = "signin"
			}
			if !slices.Contains(allSteps, s) {
				return nil, usageErr("unknown step %q; steps: %s", s, strings.Join(allSteps, ","))
			}
			if !slices.Contains(c.Steps, s) {
				c.Steps = append(c.Steps, s)
			}
		}
	}
	if slices.ContainsFunc(c.Steps, func(s string) bool { return slices.Contains(needsUser, s) }) {
		if c.ClientID == "" || c.ClientSecret == "" || c.RedirectURI == "" || c.Login == "" || c.Password == "" {
			return nil, usageErr("steps %s need --client-id, --client-secret, --redirect-uri, --login and --password", strings.Join(needsUser, ","))
		}
	}
	if slices.Contains(c.Steps, "client_credentials") && (c.CCClientID == "" || c.CCClientSecret == "") {
		return nil, usageErr("step client_credentials needs --cc-client-id and --cc-client-secret")
	}
	return &c, nil
}

// checkTarget refuses an issuer that is not on loopback: this tool must
// not load anything else without an explicit --allow-remote.
func checkTarget(ctx context.Context, u *url.URL, allowRemote bool) error {
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return usageErr("issuer %s is not on loopback; refusing without --allow-remote", u)
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return usageErr("issuer host %s resolves to %s, not loopback; refusing without --allow-remote", host, a.IP)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("resolve %s: no addresses", host)
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "soak" {
		return runSoak(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	if err := checkTarget(ctx, cfg.Issuer, cfg.AllowRemote); err != nil {
		return err
	}
	l := newLoader(cfg, stderr)
	defer l.close()
	rep, err := l.run(ctx)
	if rep != nil {
		if cfg.JSON {
			if werr := rep.writeJSON(stdout); werr != nil && err == nil {
				err = werr
			}
		} else {
			rep.writeTable(stdout)
		}
	}
	return err
}
