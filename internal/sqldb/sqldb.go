package sqldb

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gosid/gosid/internal/overload"
)

// Shared sentinel errors. Domain packages wrap or translate them; callers
// check with errors.Is.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique or foreign-key constraint refused the write, or a
	// compare-and-swap found the row changed by someone else.
	ErrConflict = errors.New("conflict")
	// ErrExpired: the row exists but its lifetime is over.
	ErrExpired = errors.New("expired")
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Config says which database to open.
type Config struct {
	// URL is a postgres:// or postgresql:// URL for PostgreSQL. Empty means
	// SQLite in SQLitePath.
	URL string
	// SQLitePath is the SQLite file used when URL is empty.
	SQLitePath string
	// MaxOpenConns bounds the pool (PostgreSQL); 0 means 20.
	MaxOpenConns int
	// AcquireTimeout bounds the wait for a connection of the pool; a
	// statement or transaction that cannot get one in time fails with an
	// overload.Error (503 with Retry-After where it reaches a client)
	// instead of queueing without bound. 0 means DefaultAcquireTimeout;
	// negative, no bound beyond the caller's context.
	AcquireTimeout time.Duration
}

// DefaultAcquireTimeout is the wait for a pooled connection when the
// configuration names none: statements take milliseconds, so a wait of
// seconds means the pool is exhausted and queueing more only piles up.
const DefaultAcquireTimeout = 2 * time.Second

// DB is a handle to the database, safe for concurrent use.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	// acquire bounds the wait for a pooled connection (0: none).
	acquire time.Duration
	// retries is how many times InTx re-runs a function after a
	// serialization failure before giving up.
	retries int
	// afterCommit, set by fault-injection tests only (SetCommitFault),
	// runs after each successful commit of InTx.
	afterCommit atomic.Pointer[func() error]
	// uses counts connections taken from the pool (Uses).
	uses atomic.Uint64
}

// ErrCommitUnknown is what InTx returns when a commit's outcome is unknown
// to the caller: the database may have committed, but its answer was lost
// (a connection dropped at COMMIT). Callers must treat it as a
// temporary failure that a retry may find already done. Only fault
// injection (SetCommitFault) produces it on its own; drivers report such
// losses as connection errors.
var ErrCommitUnknown = errors.New("commit outcome unknown")

// SetCommitFault makes every later successful InTx commit call fault, and
// return ErrCommitUnknown (joined with fault's error) when it fails, as if
// the commit's acknowledgement had been lost. nil removes it. For tests of
// retry safety only.
func (db *DB) SetCommitFault(fault func() error) {
	if fault == nil {
		db.afterCommit.Store(nil)
		return
	}
	db.afterCommit.Store(&fault)
}

// ParseURL checks a --database-url value without connecting. It returns the
// dialect the URL selects.
func ParseURL(raw string) (Dialect, error) {
	if raw == "" {
		return SQLite, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not a URL")
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		if _, err := pgx.ParseConfig(raw); err != nil {
			return "", fmt.Errorf("not a valid PostgreSQL URL: %s", redactPgError(err))
		}
		if strings.TrimPrefix(u.Path, "/") == "" {
			return "", fmt.Errorf("the URL names no database (postgres://user@host:5432/DBNAME)")
		}
		return Postgres, nil
	default:
		return "", fmt.Errorf("unsupported scheme %q: use postgres://… (or leave it empty for SQLite in the data dir)", u.Scheme)
	}
}

// redactPgError keeps pgx's parse error but never the URL, which may carry a
// password.
func redactPgError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return "malformed"
}

// Open opens and pings the database. It does not migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	dialect, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	var db *sql.DB
	switch dialect {
	case Postgres:
		db, err = sql.Open("pgx", cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		n := cfg.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(5 * time.Minute)
	case SQLite:
		if cfg.SQLitePath == "" {
			return nil, errors.New("no SQLite path")
		}
		if err := os.MkdirAll(filepath.Dir(cfg.SQLitePath), 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		db, err = sql.Open("sqlite", sqliteDSN(cfg.SQLitePath))
		if err != nil {
			return nil, fmt.Errorf("open SQLite: %w", err)
		}
		// WAL lets readers run beside the one writer; every transaction
		// begins IMMEDIATE, so writers queue on busy_timeout instead of
		// failing on a read-to-write lock upgrade.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", dialect, Redact(err))
	}
	acquire := cfg.AcquireTimeout
	if acquire == 0 {
		acquire = DefaultAcquireTimeout
	}
	return &DB{sql: db, dialect: dialect, retries: MaxRetries, acquire: max(acquire, 0)}, nil
}

// MaxRetries is how many times a transaction or statement is run again
// after a serialization failure or deadlock. Under SERIALIZABLE every
// writer that waited on a hot row (an activity-log chain's head) fails
// when the one before it commits, so a writer behind many may fail many
// times in a row: ten (the figure before) gave up on 1 append of 800 in
// the audit log's concurrency test. With the back-off capped at 64 ms
// (plus jitter), twenty take at most about 2 s.
const MaxRetries = 20

func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Redact returns err with any connection-string detail removed (pgx errors
// can quote the DSN) and, where pgx tried several ways to connect (e.g. with
// and without TLS), only the first failure.
func Redact(err error) error {
	var pgErr *pgconn.ConnectError
	if errors.As(err, &pgErr) {
		msg, _, _ := strings.Cut(strings.TrimSpace(pgErr.Unwrap().Error()), "\n")
		return errors.New(msg)
	}
	return err
}

// Dialect reports the SQL engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Stats exposes the pool statistics for metrics.
func (db *DB) Stats() sql.DBStats { return db.sql.Stats() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// Close closes the pool.
func (db *DB) Close() error { return db.sql.Close() }

// Uses reports how many times this handle has taken a connection of its
// pool: once per statement outside a transaction (per attempt, when a
// serialization failure repeats it) and once per transaction. Tests use
// it to show that a path answers without the database. Use of the pool
// handed out by SQL is not counted.
func (db *DB) Uses() uint64 { return db.uses.Load() }

// SQL is the database/sql pool underneath, for a library that takes one
// (internal/jobs hands it to its queue driver). Store code never uses it:
// it goes through Exec, Query and InTx, which classify errors and retry.
func (db *DB) SQL() *sql.DB { return db.sql }

// Strings runs a query of one text column and returns its values, in
// order; no rows is an empty result, not ErrNotFound.
func Strings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return Collect(rows, func(r Scanner) (string, error) {
		var v string
		return v, r.Scan(&v)
	})
}

// Scanner is a row being read: *sql.Rows in Collect, *Row.
type Scanner interface{ Scan(dest ...any) error }

// Collect reads every row of rows with scan and closes them; no rows is an
// empty result, not ErrNotFound.
func Collect[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, v)
	}
	return out, classify(rows.Err())
}

// Querier is what store code runs queries through: a *DB outside a
// transaction, a *Tx inside one.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *Row
}

// Runner is a Querier that can also open a transaction: a *DB, or a *Tx
// whose InTx joins the transaction already open. Stores hold a Runner so
// that a caller can make several stores' changes one transaction (an
// account change and its activity-log entry).
type Runner interface {
	Querier
	InTx(ctx context.Context, fn func(tx *Tx) error) error
}

var (
	_ Runner = (*DB)(nil)
	_ Runner = (*Tx)(nil)
)

// Exec runs a statement outside a transaction. A statement on its own
// that meets a serialization failure had no effect (it is its own
// transaction), so it runs again like a failed InTx, up to the same bound.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (res sql.Result, err error) {
	err = db.retry(ctx, func() error {
		c, err := db.conn(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		res, err = c.ExecContext(ctx, query, args...)
		return classify(err)
	})
	return res, err
}

// Query runs a query outside a transaction (again, when it fails with a
// serialization failure before its first row). Errors from rows.Err are
// the driver's; wrap them with Classify where the kind matters.
func (db *DB) Query(ctx context.Context, query string, args ...any) (rows *sql.Rows, err error) {
	err = db.retry(ctx, func() error {
		c, err := db.conn(ctx)
		if err != nil {
			return err
		}
		if rows, err = c.QueryContext(ctx, query, args...); err != nil {
			c.Close()
			return classify(err)
		}
		// Close waits for the rows to be closed, then returns the
		// connection to the pool.
		go c.Close()
		return nil
	})
	return rows, err
}

// QueryRow runs a query expected to return at most one row. It runs when
// Scan is called (again, on a serialization failure).
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *Row {
	return &Row{db: db, ctx: ctx, query: query, args: args}
}

// retry runs fn, and again after a serialization failure or deadlock, up
// to db.retries times with jittered back-off.
func (db *DB) retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = fn()
		if err == nil || !IsRetryable(err) || attempt >= db.retries {
			return err
		}
		backoff := time.Duration(1<<min(attempt, 6)) * time.Millisecond
		backoff += time.Duration(rand.Int64N(int64(backoff)))
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(backoff):
		}
	}
}

// ErrPoolTimeout is wrapped by the error of a statement that could not get
// a connection of the pool within the acquire timeout; it is an
// overload.ErrOverloaded too.
var ErrPoolTimeout = errors.New("sqldb: no pooled connection within the acquire timeout")

// RequestWait is the total time one request may wait for pooled
// connections, summed over its statements (overload.Waited; the HTTP
// layer records each request's arrival): a request of many statements
// waits at most this in all, not the acquire timeout for each. Once it is
// spent, a statement that would wait fails at once with ErrPoolTimeout
// (503 with Retry-After): a request that no longer fits is refused rather
// than left to pile up behind a slow database. A statement that finds a
// free connection runs whenever.
const RequestWait = DefaultAcquireTimeout

// minWait is what a statement past its request's wait may still wait:
// enough to take a free connection, not to queue for a busy one.
const minWait = time.Millisecond

// conn takes a connection of the pool within the acquire timeout and what
// is left of the request's RequestWait, and counts the wait towards it.
func (db *DB) conn(ctx context.Context) (*sql.Conn, error) {
	db.uses.Add(1)
	actx := ctx
	wait := db.acquire
	waited, counted := overload.Waited(ctx)
	if counted {
		if left := max(RequestWait-waited, minWait); wait <= 0 || left < wait {
			wait = left
		}
	}
	if wait > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	began := time.Now()
	c, err := db.sql.Conn(actx)
	if counted {
		overload.AddWait(ctx, time.Since(began))
	}
	if err == nil {
		return c, nil
	}
	if ctx.Err() == nil && actx.Err() != nil {
		return nil, errors.Join(ErrPoolTimeout, &overload.Error{What: "database pool", RetryAfter: time.Second})
	}
	return nil, classify(err)
}

// Row is sql.Row whose Scan returns ErrNotFound (wrapping sql.ErrNoRows) when
// there is no row.
type Row struct {
	// Outside a transaction: the query, run by Scan.
	db    *DB
	ctx   context.Context
	query string
	args  []any
	// In a transaction: the row.
	row *sql.Row
}

// Scan copies the row's columns into dest.
func (r *Row) Scan(dest ...any) error {
	if r.db == nil {
		return classify(r.row.Scan(dest...))
	}
	return r.db.retry(r.ctx, func() error {
		c, err := r.db.conn(r.ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		return classify(c.QueryRowContext(r.ctx, r.query, r.args...).Scan(dest...))
	})
}

// Tx is an open transaction; it is only valid inside the InTx callback.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
	// committed run once the transaction has committed (AfterCommit).
	committed []func()
}

// AfterCommit has fn run once the transaction has committed, and never
// if it rolls back: work outside the database that must wait for the
// change to be visible, such as dropping this process's cached copies of
// the rows it changed (dropped earlier, a reader could cache the old rows
// again before the commit). Work nested in an outer transaction (Tx.InTx)
// waits for the outer commit; an attempt that InTx runs again keeps none
// of the failed attempt's.
func (tx *Tx) AfterCommit(fn func()) { tx.committed = append(tx.committed, fn) }

// Dialect reports the SQL engine.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// SQL is the database/sql transaction underneath, for a library that
// writes in the caller's transaction (internal/jobs enqueues a job in it).
// Store code never uses it. Valid only inside the InTx callback.
func (tx *Tx) SQL() *sql.Tx { return tx.tx }

// Exec runs a statement in the transaction.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := tx.tx.ExecContext(ctx, query, args...)
	return res, classify(err)
}

// Query runs a query in the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := tx.tx.QueryContext(ctx, query, args...)
	return rows, classify(err)
}

// QueryRow runs a query in the transaction expected to return at most one row.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *Row {
	return &Row{row: tx.tx.QueryRowContext(ctx, query, args...)}
}

// InTx runs fn in this transaction: nested work joins the outer
// transaction, which commits or rolls back as a whole (and is retried as a
// whole by the outer DB.InTx).
func (tx *Tx) InTx(_ context.Context, fn func(tx *Tx) error) error { return fn(tx) }

// InTx runs fn in a transaction and commits it when fn returns nil. When the
// database reports a serialization failure or deadlock (PostgreSQL 40001 and
// 40P01, SQLite BUSY/LOCKED) anywhere in fn or at commit, the whole
// transaction is rolled back and fn runs again, up to a bound, with jittered
// back-off. fn must therefore have no effects outside the transaction (no
// sending messages, no mutating captured state it does not reset).
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.retry(ctx, func() error { return db.inTxOnce(ctx, fn) })
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	c, err := db.conn(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer c.Close()
	sqlTx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", classify(err))
	}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	tx := &Tx{tx: sqlTx, dialect: db.dialect}
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", classify(err))
	}
	for _, f := range tx.committed {
		f()
	}
	if fault := db.afterCommit.Load(); fault != nil {
		if ferr := (*fault)(); ferr != nil {
			// The deferred rollback then finds the transaction done.
			return errors.Join(ErrCommitUnknown, ferr)
		}
	}
	return nil
}

// kindError attaches a sentinel to a driver error without losing either.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string { return e.kind.Error() + ": " + e.err.Error() }
func (e *kindError) Unwrap() []error {
	return []error{e.kind, e.err}
}

// retryable marks serialization failures.
var errRetryable = errors.New("serialization failure")

// IsRetryable reports whether err is a serialization failure or deadlock that
// a fresh transaction may not meet.
func IsRetryable(err error) bool { return errors.Is(err, errRetryable) }

// Classify maps a driver error onto the shared sentinels; store code calls it
// on errors that do not pass through DB/Tx methods (rows.Err, rows.Scan).
func Classify(err error) error { return classify(err) }

func classify(err error) error {
	if err == nil {
		return nil
	}
	var ke *kindError
	if errors.As(err, &ke) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &kindError{kind: ErrNotFound, err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505", "23503": // unique_violation, foreign_key_violation
			return &kindError{kind: ErrConflict, err: err}
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return &kindError{kind: errRetryable, err: err}
		}
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch code := sqErr.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE,
			code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
			code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &kindError{kind: ErrConflict, err: err}
		case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED:
			return &kindError{kind: errRetryable, err: err}
		}
	}
	return err
}

// Micros converts a time to the stored representation: Unix microseconds.
// The zero time maps to 0.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// Time converts a stored Unix-microsecond value back to UTC time; 0 is the
// zero time.
func Time(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// NullMicros is Micros for optional columns: the zero time becomes NULL.
func NullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// In appends values to args and returns their placeholders for an IN
// list ("$3, $4, $5" after two arguments).
func In[T any](args []any, values []T) (string, []any) {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, v)
		b.WriteString("$" + strconv.Itoa(len(args)))
	}
	return b.String(), args
}

// NewID is a random row id: 128 bits from crypto/rand as 32 lower-case hex
// digits, the form the stores' ids take (checks, evidence, applications,
// bookings, payments).
func NewID() string {
	b := make([]byte, 16)
	_, _ = crand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
