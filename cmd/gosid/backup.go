package main

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

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/migrations"
)

// Backups. The embedded SQLite database is copied online and consistently
// with VACUUM INTO (a snapshot of one read transaction: writers go on), and
// checked before it is kept. PostgreSQL is dumped with pg_dump's custom
// format, the password passed in the environment, never on the command
// line where ps shows it; point-in-time recovery (base backups and WAL
// archiving) is the runbook's, not this command's.
//
// Neither backup holds the master key: a backup without it is unreadable
// (every secret and document is sealed under data keys it wraps), so it is
// kept apart, and a restore needs the same key.

func runBackup(ctx context.Context, env *cmdline.Env, args []string) int {
	var st storageOptions
	var out string
	s := cmdline.NewSet("gosid backup", "Writes a consistent backup of the database while Gosid runs: SQLite by VACUUM INTO (checked with integrity_check), PostgreSQL by pg_dump --format=custom. The master key is not in the backup: keep a copy of it apart (see docs/operations.md, Backup and restore).")
	st.register(s)
	s.String(&out, "out", "", "The backup file to write (it must not exist).")
	return env.Run(s, args, func(p *cmdline.Problems) {
		st.resolve()
		if out == "" {
			p.Add("%s: required: the backup file to write", s.Source("out"))
		} else if _, err := os.Lstat(out); err == nil {
			p.Add("%s: %s exists: a backup never overwrites a file", s.Source("out"), out)
		}
		if db := st.check(ctx, s, p); db != nil {
			db.Close()
		}
	}, func() error {
		tmp := out + ".partial"
		_ = os.Remove(tmp)
		var err error
		if st.DatabaseURL == "" {
			err = backupSQLite(ctx, &st, tmp)
		} else {
			err = pgTool(ctx, "pg_dump", st.DatabaseURL, "--format=custom", "--no-owner", "--no-privileges", "--file="+tmp)
		}
		if err == nil {
			err = syncFile(tmp)
		}
		if err == nil {
			err = os.Rename(tmp, out)
		}
		if err != nil {
			_ = os.Remove(tmp)
			return err
		}
		fi, err := os.Stat(out)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Backup written: %s (%d bytes).\nThe master key is not in it: keep a copy of %s apart; a restore needs it.\n", out, fi.Size(), st.MasterKeyFile)
		return nil
	})
}

// backupSQLite writes the data dir's database to path with VACUUM INTO and
// checks the copy.
func backupSQLite(ctx context.Context, st *storageOptions, path string) error {
	db, err := st.open(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `VACUUM INTO $1`, abs); err != nil {
		return fmt.Errorf("VACUUM INTO: %w", err)
	}
	return checkSQLite(ctx, abs)
}

// checkSQLite opens a copied database and requires integrity_check to say
// "ok" and the schema to be Gosid's.
func checkSQLite(ctx context.Context, path string) error {
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
	report, err := migrations.Status(ctx, db)
	if err != nil {
		return fmt.Errorf("%s: not a Gosid database: %w", path, err)
	}
	if len(report) == 0 || report[0].Current == 0 {
		return fmt.Errorf("%s: not a Gosid database (no schema recorded)", path)
	}
	return nil
}

func runRestore(ctx context.Context, env *cmdline.Env, args []string) int {
	var st storageOptions
	var from string
	s := cmdline.NewSet("gosid restore", "Restores a backup made by `gosid backup` into an empty place: for SQLite a data dir without gosid.db (the backup is checked first), for PostgreSQL an empty database (pg_restore). Stop every replica first; start them with the master key the backup was made with.")
	st.register(s)
	s.String(&from, "from", "", "The backup file to restore.")
	return env.Run(s, args, func(p *cmdline.Problems) {
		st.resolve()
		if from == "" {
			p.Add("%s: required: the backup file to restore", s.Source("from"))
		} else if fi, err := os.Stat(from); err != nil || !fi.Mode().IsRegular() {
			p.Add("%s: %s is not a readable file", s.Source("from"), from)
		}
		if st.DatabaseURL == "" {
			if _, err := os.Lstat(st.sqlitePath()); err == nil {
				p.Add("%s: %s exists: restore into a data dir without a database (move it aside first)", s.Source("data-dir"), st.sqlitePath())
			}
		}
		if db := st.check(ctx, s, p); db != nil {
			if report, err := migrations.Status(ctx, db); err == nil && len(report) > 0 && slices.ContainsFunc(report, func(m migrations.ModuleStatus) bool { return m.Current > 0 }) {
				p.Add("%s: the database holds a Gosid schema already: restore into an empty database", s.Source("database-url"))
			}
			db.Close()
		}
	}, func() error {
		if st.DatabaseURL != "" {
			if err := pgTool(ctx, "pg_restore", st.DatabaseURL, "--no-owner", "--no-privileges", "--exit-on-error", from); err != nil {
				return err
			}
		} else if err := restoreSQLite(ctx, &st, from); err != nil {
			return err
		}
		db, err := st.open(ctx, true)
		if err != nil {
			return err
		}
		defer db.Close()
		report, err := migrations.Status(ctx, db)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Restored from %s.\n", from)
		migrations.WriteSummary(env.Stdout, db.Dialect(), nil, report)
		if _, err := os.Stat(st.MasterKeyFile); err != nil && st.usesDataDir() {
			fmt.Fprintf(env.Stdout, "No master key at %s yet: put there the one the backup was made with.\n", st.MasterKeyFile)
		}
		return nil
	})
}

// restoreSQLite checks the backup and copies it into the data dir under a
// temporary name, then renames it: a failed restore leaves no database.
func restoreSQLite(ctx context.Context, st *storageOptions, from string) error {
	if err := os.MkdirAll(st.DataDir, 0o700); err != nil {
		return err
	}
	tmp := st.sqlitePath() + ".restoring"
	_ = os.Remove(tmp)
	err := copyFile(from, tmp)
	if err == nil {
		err = checkSQLite(ctx, tmp)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		_ = os.Remove(tmp + suffix)
	}
	if err == nil {
		err = os.Rename(tmp, st.sqlitePath())
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
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
		return fmt.Errorf("%s: %v: %s", tool, err, strings.TrimSpace(stderr.String()))
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
