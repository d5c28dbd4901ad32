package migrations

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gosid/gosid/internal/sqldb"
)

// Backups (`gosid backup` and `gosid restore`). The embedded SQLite
// database is copied online and consistently with VACUUM INTO (a snapshot
// of one read transaction: writers go on), and checked before it is kept.
// PostgreSQL is dumped with pg_dump's custom format, the password passed in
// the environment, never on the command line where ps shows it;
// point-in-time recovery (base backups and WAL archiving) is the
// runbook's, not these functions'.
//
// Neither backup holds the master key: a backup without it is unreadable
// (every secret and document is sealed under data keys it wraps), so it is
// kept apart, and a restore needs the same key.

// Empty reports whether the database holds no migration of any module:
// nothing of Gosid's schema.
func (r Report) Empty() bool {
	return !slices.ContainsFunc(r, func(m ModuleStatus) bool { return m.Current > 0 })
}

// WriteAtomic writes the file path through path.partial: write fills the
// partial file, which is then synced to disk and renamed to path, so that
// path is either absent or complete. On any failure the partial file is
// removed.
func WriteAtomic(path string, write func(partial string) error) error {
	tmp := path + ".partial"
	_ = os.Remove(tmp)
	err := write(tmp)
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// BackupSQLite writes db, an SQLite database, to path with VACUUM INTO and
// checks the copy (CheckSQLite).
func BackupSQLite(ctx context.Context, db *sqldb.DB, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `VACUUM INTO $1`, abs); err != nil {
		return fmt.Errorf("VACUUM INTO: %w", err)
	}
	return CheckSQLite(ctx, abs)
}

// CheckSQLite opens a copied database and requires integrity_check to say
// "ok" and the schema to be Gosid's.
func CheckSQLite(ctx context.Context, path string) error {
	db, err := sqldb.Open(ctx, sqldb.Config{SQLitePath: path})
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return fmt.Errorf("%s: integrity check: %w", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("%s: integrity check failed: %s", path, res)
	}
	report, err := Status(ctx, db)
	if err != nil {
		return fmt.Errorf("%s: not a Gosid database: %w", path, err)
	}
	if len(report) == 0 || report[0].Current == 0 {
		return fmt.Errorf("%s: not a Gosid database (no schema recorded)", path)
	}
	return nil
}

// RestoreSQLite checks the backup from and copies it to the database file
// to (creating its directory) under a temporary name, then renames it: a
// failed restore leaves no database.
func RestoreSQLite(ctx context.Context, from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	tmp := to + ".restoring"
	_ = os.Remove(tmp)
	err := copyFile(from, tmp)
	if err == nil {
		err = CheckSQLite(ctx, tmp)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		_ = os.Remove(tmp + suffix)
	}
	if err == nil {
		err = os.Rename(tmp, to)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// PGDump writes the PostgreSQL database of databaseURL to path with
// pg_dump --format=custom, without owners and privileges.
func PGDump(ctx context.Context, databaseURL, path string) error {
	return pgTool(ctx, "pg_dump", databaseURL, "--format=custom", "--no-owner", "--no-privileges", "--file="+path)
}

// PGRestore restores a dump made by PGDump into the (empty) PostgreSQL
// database of databaseURL with pg_restore, stopping at the first error.
func PGRestore(ctx context.Context, databaseURL, from string) error {
	return pgTool(ctx, "pg_restore", databaseURL, "--no-owner", "--no-privileges", "--exit-on-error", from)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// pgTool runs pg_dump or pg_restore against the database of rawURL: the
// URL without its password as --dbname, the password in PGPASSWORD.
func pgTool(ctx context.Context, tool, rawURL string, args ...string) error {
	bin, err := pgBinary(tool)
	if err != nil {
		return err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// Not err itself: it would quote the URL, password and all.
		return errors.New("database URL: not a URL")
	}
	env := os.Environ()
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
		}
		u.User = url.User(u.User.Username())
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"--dbname=" + u.String()}, args...)...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", tool, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// pgBinary finds pg_dump or pg_restore: on PATH, else the newest
// /usr/lib/postgresql/N/bin (Debian's layout).
func pgBinary(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return pgVersion(b) - pgVersion(a) })
	for _, d := range dirs {
		if p := filepath.Join(d, tool); isFile(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: install PostgreSQL's client tools (Debian: postgresql-client) of the server's major version or newer", tool)
}

func pgVersion(binDir string) int {
	var v int
	fmt.Sscanf(filepath.Base(filepath.Dir(binDir)), "%d", &v)
	return v
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
