package sqldbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/migrations"
)

var (
	mainCalled bool

	pgOnce   sync.Once
	pgServer *server // nil when unavailable
	pgErr    error   // why it is unavailable
	pgMu     sync.Mutex
	template string // migrated template database, created lazily
)

// Main runs the package's tests and then drops what the package created on
// the PostgreSQL server and stops the private cluster, if one was started.
func Main(m *testing.M) { os.Exit(MainCode(m)) }

// MainCode is Main without the exit: it returns the tests' exit code, for a
// TestMain that has clean-up of its own to do after the tests.
func MainCode(m *testing.M) int {
	mainCalled = true
	code := m.Run()
	if pgServer != nil {
		pgServer.cleanup()
	}
	return code
}

// Run runs fn twice, as subtests "sqlite" and "postgres", each with a fresh
// migrated database.
func Run(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// Bench runs a benchmark twice, as sub-benchmarks "sqlite" and
// "postgres", each with a fresh migrated database.
func Bench(b *testing.B, fn func(b *testing.B, db *sqldb.DB)) {
	b.Helper()
	b.Run("sqlite", func(b *testing.B) { fn(b, SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, Postgres(b)) })
}

// RunReplicas runs fn twice, as subtests "sqlite" and "postgres", each
// with two handles (two pools) on one fresh migrated database, as two
// replicas of `gosid serve` sharing it would have.
func RunReplicas(t *testing.T, fn func(t *testing.T, a, b *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		cfg := sqldb.Config{SQLitePath: SQLitePath(t)}
		fn(t, open(t, cfg), open(t, cfg))
	})
	t.Run("postgres", func(t *testing.T) {
		cfg := sqldb.Config{URL: PostgresURL(t)}
		fn(t, open(t, cfg), open(t, cfg))
	})
}

// RunEmpty is Run with databases that have not been migrated.
func RunEmpty(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, open(t, sqldb.Config{SQLitePath: emptySQLitePath(t)})) })
	t.Run("postgres", func(t *testing.T) { fn(t, open(t, sqldb.Config{URL: postgresURL(t, false)})) })
}

// SQLite returns a fresh migrated SQLite database.
func SQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	return open(t, sqldb.Config{SQLitePath: SQLitePath(t)})
}

// SQLitePath returns the path of a fresh migrated SQLite database file, for
// tests that open several handles on it or start the binary on it.
func SQLitePath(t testing.TB) string {
	t.Helper()
	path := emptySQLitePath(t)
	db := open(t, sqldb.Config{SQLitePath: path})
	if err := migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate SQLite: %v", err)
	}
	return path
}

// migrate does what `gosid migrate` does: every module's schema, then the
// job queue's tables.
func migrate(ctx context.Context, db *sqldb.DB) error {
	if _, err := migrations.Up(ctx, db); err != nil {
		return err
	}
	_, err := jobs.Migrate(ctx, db)
	return err
}

func emptySQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "gosid.db")
}

// Postgres returns a fresh migrated PostgreSQL database.
func Postgres(t testing.TB) *sqldb.DB {
	t.Helper()
	return open(t, sqldb.Config{URL: PostgresURL(t)})
}

// PostgresURL returns the URL of a fresh migrated PostgreSQL database, for
// tests that open several handles on it (as several replicas would) or start
// the binary on it. The database is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return postgresURL(t, true)
}

// EmptyPostgresURL is PostgresURL for a database with no schema at all.
func EmptyPostgresURL(t testing.TB) string {
	t.Helper()
	return postgresURL(t, false)
}

func open(t testing.TB, cfg sqldb.Config) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func postgresURL(t testing.TB, migrated bool) string {
	t.Helper()
	if !mainCalled {
		t.Fatal("sqldbtest: the package's TestMain must call sqldbtest.Main(m)")
	}
	srv := available(t)
	ctx := context.Background()
	src := "template0"
	if migrated {
		tpl, err := migratedTemplate(ctx, srv)
		if err != nil {
			t.Fatalf("sqldbtest: prepare template database: %v", err)
		}
		src = tpl
	}
	name := "gosid_t_" + randomHex(6)
	if err := srv.createDatabase(ctx, name, src); err != nil {
		t.Fatalf("sqldbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.dropDatabase(context.Background(), name); err != nil {
			t.Logf("sqldbtest: drop database %s: %v", name, err)
		}
	})
	return srv.urlFor(name)
}

// available returns the server or ends the test: a skip, or a failure under
// GOSID_TEST_REQUIRE_POSTGRES=1.
func available(t testing.TB) *server {
	t.Helper()
	pgOnce.Do(func() { pgServer, pgErr = start() })
	if pgServer != nil {
		return pgServer
	}
	if os.Getenv("GOSID_TEST_REQUIRE_POSTGRES") == "1" {
		t.Fatalf("PostgreSQL required (GOSID_TEST_REQUIRE_POSTGRES=1) but unavailable: %v", pgErr)
	}
	t.Skipf("PostgreSQL half skipped: %v", pgErr)
	return nil
}

func migratedTemplate(ctx context.Context, srv *server) (string, error) {
	pgMu.Lock()
	defer pgMu.Unlock()
	if template != "" {
		return template, nil
	}
	name := "gosid_tpl_" + randomHex(6)
	if err := srv.createDatabase(ctx, name, "template0"); err != nil {
		return "", err
	}
	srv.created = append(srv.created, name)
	db, err := sqldb.Open(ctx, sqldb.Config{URL: srv.urlFor(name)})
	if err != nil {
		return "", err
	}
	err = migrate(ctx, db)
	db.Close()
	if err != nil {
		return "", err
	}
	template = name
	return name, nil
}

// server is a PostgreSQL server the tests may create databases on.
type server struct {
	admin   *url.URL // connection URL of a maintenance database
	created []string // databases to drop at the end (external servers)

	// Set for a private cluster.
	proc    *exec.Cmd
	exited  chan struct{} // closed once proc has been waited for
	dataDir string
}

func (s *server) urlFor(db string) string {
	u := *s.admin
	u.Path = "/" + db
	return u.String()
}

func (s *server) adminExec(ctx context.Context, stmt string) error {
	conn, err := sql.Open("pgx", s.admin.String())
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, stmt)
	return err
}

var createMu sync.Mutex

func (s *server) createDatabase(ctx context.Context, name, template string) error {
	// PostgreSQL refuses to copy a template while another session is
	// connected to it, including a concurrent CREATE DATABASE from it.
	createMu.Lock()
	defer createMu.Unlock()
	var err error
	for range 20 {
		err = s.adminExec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, template))
		if err == nil || !strings.Contains(err.Error(), "is being accessed by other users") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil && Serializable() {
		err = s.adminExec(ctx, fmt.Sprintf(`ALTER DATABASE %s SET default_transaction_isolation = 'serializable'`, name))
	}
	return err
}

// Serializable reports whether GOSID_TEST_PG_SERIALIZABLE=1 asks for the
// test databases to run every transaction SERIALIZABLE, as distributed
// PostgreSQL-compatible engines (CockroachDB, YugabyteDB) do: the store
// suites then show that sqldb's retries on serialization failures carry
// them (docs/operations.md, Beyond one database).
func Serializable() bool { return os.Getenv("GOSID_TEST_PG_SERIALIZABLE") == "1" }

func (s *server) dropDatabase(ctx context.Context, name string) error {
	return s.adminExec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
}

func (s *server) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.proc == nil {
		for _, name := range s.created {
			_ = s.dropDatabase(ctx, name)
		}
		return
	}
	// SIGINT is PostgreSQL's "fast shutdown": it ends sessions and exits
	// cleanly.
	_ = s.proc.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.proc.Process.Kill()
		<-s.exited
	}
	_ = os.RemoveAll(s.dataDir)
}

func start() (*server, error) {
	if raw := os.Getenv("GOSID_TEST_DATABASE_URL"); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, errors.New("GOSID_TEST_DATABASE_URL is not a postgres:// URL")
		}
		srv := &server{admin: u}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.adminExec(ctx, "SELECT 1"); err != nil {
			return nil, fmt.Errorf("GOSID_TEST_DATABASE_URL unreachable: %w", sqldb.Redact(err))
		}
		return srv, nil
	}
	return startCluster()
}

// startCluster initialises and starts a private PostgreSQL cluster in a temp
// dir: a unix socket in that dir and no TCP listener (so no port that another
// process could take before the server binds it, or while a test has it
// stopped), fsync off, trust auth. The
// server is a child of the test process and dies with it (Pdeathsig), so a
// crashed test binary leaves no server behind.
func startCluster() (*server, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gosid-pg-")
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, lastLine(out))
	}
	srv, err := runPostgres(bin, dir, data, cred)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return srv, nil
}

// socketPort only names the socket file (.s.PGSQL.5432) in the cluster's
// own directory: no TCP port is opened.
const socketPort = "5432"

func runPostgres(bin, dir, data string, cred *syscall.Credential) (*server, error) {
	logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	if cred != nil {
		_ = logFile.Chown(int(cred.Uid), int(cred.Gid))
	}
	args := []string{"-D", data, "-k", dir, "-p", socketPort,
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB"}
	if os.Getenv("GOSID_TEST_PG_STAT_STATEMENTS") == "1" {
		// For measurements of the slowest queries (CREATE EXTENSION
		// pg_stat_statements in the database measured) and their plans
		// (auto_explain, off until a test sets auto_explain.log_min_duration
		// and reloads: the plans then go to the server's log, LogPath).
		args = append(args, "-c", "shared_preload_libraries=pg_stat_statements,auto_explain", "-c", "pg_stat_statements.track=all")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	srv := &server{
		admin: &url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/postgres",
			RawQuery: url.Values{"host": {dir}, "port": {socketPort}, "sslmode": {"disable"}}.Encode()},
		proc:    cmd,
		exited:  exited,
		dataDir: dir,
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return nil, fmt.Errorf("postgres exited at start: %s", lastLine(log))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := srv.adminExec(ctx, "SELECT 1")
		cancel()
		if err == nil {
			return srv, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return nil, errors.New("postgres did not accept connections within 30s")
}

// findBinDir finds a directory holding initdb and postgres: the newest
// /usr/lib/postgresql/N/bin (Debian), else the directory of initdb on PATH.
func findBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) found and GOSID_TEST_DATABASE_URL is unset")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Cluster is a private PostgreSQL server of one test, which the test may
// stop and start again (a database restart under load). It is not shared
// with other tests.
type Cluster struct {
	t    testing.TB
	bin  string
	cred *syscall.Credential
	srv  *server
	url  string
}

// Restartable starts a private cluster for t with one migrated database
// and stops it when t ends. It needs the PostgreSQL server binaries: where
// there are none it skips t, or fails it under
// GOSID_TEST_REQUIRE_POSTGRES=1 (an external GOSID_TEST_DATABASE_URL
// server cannot be restarted by a test).
func Restartable(t testing.TB) *Cluster {
	t.Helper()
	bin, err := findBinDir()
	if err != nil {
		if os.Getenv("GOSID_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("a restartable PostgreSQL needs the server binaries: %v", err)
		}
		t.Skipf("restartable PostgreSQL skipped: %v", err)
	}
	srv, err := startCluster()
	if err != nil {
		t.Fatalf("private PostgreSQL: %v", err)
	}
	c := &Cluster{t: t, bin: bin, srv: srv}
	t.Cleanup(func() { c.srv.cleanup() })
	if c.cred, err = postgresCredential(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := "gosid_r_" + randomHex(6)
	if err := srv.createDatabase(ctx, name, "template0"); err != nil {
		t.Fatal(err)
	}
	c.url = srv.urlFor(name)
	db, err := sqldb.Open(ctx, sqldb.Config{URL: c.url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := migrations.Up(ctx, db); err != nil {
		t.Fatal(err)
	}
	return c
}

// URL is the migrated database's connection URL.
func (c *Cluster) URL() string { return c.url }

// LogPath is the server's log file (started afresh by Start).
func (c *Cluster) LogPath() string { return filepath.Join(c.srv.dataDir, "postgres.log") }

// Stop shuts the server down (fast shutdown: sessions are ended) and waits
// until it has exited; connections then fail until Start.
func (c *Cluster) Stop() {
	c.t.Helper()
	_ = c.srv.proc.Process.Signal(syscall.SIGINT)
	select {
	case <-c.srv.exited:
	case <-time.After(20 * time.Second):
		c.t.Fatal("PostgreSQL did not stop within 20 s")
	}
}

// Start starts the stopped server again on the same socket and data, and
// waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	dir := c.srv.dataDir
	srv, err := runPostgres(c.bin, dir, filepath.Join(dir, "data"), c.cred)
	if err != nil {
		c.t.Fatalf("restart PostgreSQL: %v", err)
	}
	c.srv = srv
}

// postgresCredential is who the private cluster runs as: the postgres
// user when the tests run as root (initdb refuses root), else the caller.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root and there is no postgres user to run the private cluster as")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
