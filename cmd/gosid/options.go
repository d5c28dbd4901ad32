package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/message"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/migrations"
)

// storageOptions are shared by every subcommand that touches the database.
type storageOptions struct {
	DataDir       string
	DatabaseURL   string
	MasterKeyFile string
	DBMaxConns    int
	DBAcquire     time.Duration
}

func (o *storageOptions) register(s *cmdline.Set) { o.registerAs(s, "./gosid-data") }

func (o *storageOptions) registerAs(s *cmdline.Set, dataDir string) {
	s.String(&o.DataDir, "data-dir", dataDir, "Directory for the embedded SQLite database and, by default, the master key file.")
	s.SecretString(&o.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://user:pass@host:5432/db). Empty: SQLite file gosid.db in the data dir.")
	s.String(&o.MasterKeyFile, "master-key-file", "", "File holding the master key that wraps every data key (default: master.key in the data dir). Created with mode 0600 at the first start in development mode (addr and public-url both loopback); must exist otherwise.")
	s.Int(&o.DBMaxConns, "db-max-conns", 20, "Maximum open connections to PostgreSQL per process.")
	s.Duration(&o.DBAcquire, "db-acquire-timeout", sqldb.DefaultAcquireTimeout, "The longest a request waits for a pooled database connection; beyond it the request is answered 503 with Retry-After instead of queueing (negative: no bound).")
}

// resolve fills derived defaults; call after Parse.
func (o *storageOptions) resolve() {
	if o.MasterKeyFile == "" {
		o.MasterKeyFile = filepath.Join(o.DataDir, "master.key")
	}
}

func (o *storageOptions) sqlitePath() string { return filepath.Join(o.DataDir, "gosid.db") }

func (o *storageOptions) dbConfig() sqldb.Config {
	return sqldb.Config{URL: o.DatabaseURL, SQLitePath: o.sqlitePath(), MaxOpenConns: o.DBMaxConns, AcquireTimeout: o.DBAcquire}
}

// usesDataDir reports whether anything is kept in the data dir.
func (o *storageOptions) usesDataDir() bool {
	return o.DatabaseURL == "" || isInside(o.MasterKeyFile, o.DataDir)
}

func isInside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && !strings.HasPrefix(rel, "..")
}

// check validates the storage options without writing anything. When the
// URL is a PostgreSQL one and well-formed, it connects, so that an
// unreachable database is reported with the other problems; the open handle
// is returned for reuse.
func (o *storageOptions) check(ctx context.Context, s *cmdline.Set, p *cmdline.Problems) *sqldb.DB {
	if o.DBMaxConns < 1 {
		p.Add("%s: must be at least 1", s.Source("db-max-conns"))
	}
	dialect, err := sqldb.ParseURL(o.DatabaseURL)
	if err != nil {
		p.Add("%s: %v", s.Source("database-url"), err)
	}
	if o.usesDataDir() {
		if err := sqldb.CheckWritableDir(o.DataDir); err != nil {
			p.Add("%s: %s is not usable: %v", s.Source("data-dir"), o.DataDir, err)
		}
	}
	if dialect == sqldb.Postgres && len(*p) == 0 {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		db, err := sqldb.Open(ctx, o.dbConfig())
		if err != nil {
			p.Add("%s: cannot connect: %v", s.Source("database-url"), err)
			return nil
		}
		return db
	}
	return nil
}

// open opens the database named by the options. For commands other than
// serve and migrate an embedded database must already exist: opening would
// otherwise create an empty one in a mistyped data dir.
func (o *storageOptions) open(ctx context.Context, mustExist bool) (*sqldb.DB, error) {
	if o.DatabaseURL == "" && mustExist {
		if _, err := os.Stat(o.sqlitePath()); err != nil {
			return nil, fmt.Errorf("no Gosid database at %s: run `gosid serve` or `gosid migrate` with this --data-dir first", o.sqlitePath())
		}
	}
	return sqldb.Open(ctx, o.dbConfig())
}

// openMigrated opens the database and makes sure its schema is current.
func (o *storageOptions) openMigrated(ctx context.Context, mustExist bool, log *slog.Logger) (*sqldb.DB, error) {
	db, err := o.open(ctx, mustExist)
	if err != nil {
		return nil, err
	}
	if _, err := migrate(ctx, db, log); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// migrate applies the missing migrations of every module, then the job
// queue's, logs what it applied, and returns the modules' migrations it
// applied.
func migrate(ctx context.Context, db *sqldb.DB, log *slog.Logger) ([]migrations.Migration, error) {
	applied, err := migrations.Up(ctx, db)
	migrations.LogApplied(log, db.Dialect(), applied)
	if err != nil {
		return applied, err
	}
	// The job queue's own tables (River's), after the modules'.
	queue, err := jobs.Migrate(ctx, db)
	if len(queue) > 0 {
		log.Info("job queue schema migrated", "dialect", db.Dialect(), "applied", queue)
	}
	return applied, err
}

// keyOptions configure the signing keys; serve and `keys rotate` must agree
// on them, as must every replica.
type keyOptions struct {
	RotationPeriod   time.Duration
	MaxTokenLifetime time.Duration
	RefreshInterval  time.Duration
}

func (o *keyOptions) register(s *cmdline.Set) {
	s.Duration(&o.RotationPeriod, "key-rotation-period", keys.DefaultRotationPeriod, "How long a signing key signs before a successor is added automatically.")
	s.Duration(&o.MaxTokenLifetime, "max-token-lifetime", keys.DefaultMaxTokenLifetime, "Longest lifetime of any signed token: new keys are published this long before they sign, old ones stay published this long after. Same value on every replica.")
	s.Duration(&o.RefreshInterval, "key-refresh-interval", keys.DefaultRefreshInterval, "How often each replica reloads keys from the database (so rotations by other processes are served).")
}

func (o *keyOptions) check(s *cmdline.Set, p *cmdline.Problems) {
	o.managerOptions(nil).Validate(p.About(s))
}

func (o *keyOptions) managerOptions(log *slog.Logger) keys.Options {
	return keys.Options{
		RotationPeriod:   o.RotationPeriod,
		MaxTokenLifetime: o.MaxTokenLifetime,
		RefreshInterval:  o.RefreshInterval,
		Logger:           log,
	}
}

// logOptions configure the process log.
type logOptions struct {
	Format string
	Level  string
}

// register adds the options; one-shot commands default to a quieter level
// than serve.
func (o *logOptions) register(s *cmdline.Set, level string) {
	s.Enum(&o.Format, "log-format", "text", []string{"text", "json"}, "Log format: text for people, json for log collectors.")
	s.Enum(&o.Level, "log-level", level, []string{"debug", "info", "warn", "error"}, "Lowest level logged.")
}

func (o *logOptions) logger(w io.Writer) *slog.Logger { return httpx.NewLogger(w, o.Format, o.Level) }

// serverLogger is the logger of a long-running command; run as the
// process, it becomes slog's default too, so that the lines libraries
// write on their own (zitadel/oidc's request errors, the standard log
// package) get the same format, level, request id and repeat limit.
func (o *logOptions) serverLogger(env *cmdline.Env) *slog.Logger {
	l := o.logger(env.Stderr)
	if env.Process {
		slog.SetDefault(l)
	}
	return l
}

// checkAddr validates a host:port listen address.
func checkAddr(s *cmdline.Set, p *cmdline.Problems, name, addr string) {
	if err := httpx.CheckAddr(addr); err != nil {
		p.Add("%s: %v", s.Source(name), err)
	}
}

// gatewayOptions configure the message gateways (serve and portal).
type gatewayOptions struct {
	SMTPAddr, SMTPFrom, SMTPUsername, SMTPPassword, SMTPStartTLS string
	SMTPImplicitTLS                                              bool
	SMSURL, SMSMethod, SMSAuthHeader, SMSAuthValue, SMSBody      string
	SMSContentType                                               string
	// The card acquirer (portal payments).
	AcquirerURL, AcquirerMerchant, AcquirerAPIKey, AcquirerSecret string
}

func (o *gatewayOptions) register(s *cmdline.Set) {
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
	s.String(&o.AcquirerURL, "acquirer-url", "", "Base URL of the card acquirer's API for the portal's payments; empty: the sandbox acquirer in development mode, no payments otherwise.")
	s.String(&o.AcquirerMerchant, "acquirer-merchant-id", "", "Merchant id at the acquirer.")
	s.SecretString(&o.AcquirerAPIKey, "acquirer-api-key", "", "API key at the acquirer.")
	s.SecretString(&o.AcquirerSecret, "acquirer-notify-secret", "", "HMAC secret of the acquirer's notifications (32 characters or more).")
}

// gateways are the message gateways the options configure.
func (o *gatewayOptions) gateways() message.Gateways {
	return message.Gateways{
		SMTP: message.SMTPConfig{Addr: o.SMTPAddr, From: o.SMTPFrom, Username: o.SMTPUsername,
			Password: message.Secret(o.SMTPPassword), StartTLS: o.SMTPStartTLS, ImplicitTLS: o.SMTPImplicitTLS},
		SMS: message.HTTPSMSConfig{URL: o.SMSURL, Method: o.SMSMethod, AuthHeader: o.SMSAuthHeader,
			AuthValue: message.Secret(o.SMSAuthValue), BodyTemplate: o.SMSBody, ContentType: o.SMSContentType}}
}
