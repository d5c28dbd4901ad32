package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/migrations"
)

// runBackup is `gosid backup`; the mechanics, and why the master key is
// not in a backup, are migrations/backup.go's.
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
		err := migrations.WriteAtomic(out, func(tmp string) error {
			if st.DatabaseURL != "" {
				return migrations.PGDump(ctx, st.DatabaseURL, tmp)
			}
			db, err := st.open(ctx, true)
			if err != nil {
				return err
			}
			defer db.Close()
			return migrations.BackupSQLite(ctx, db, tmp)
		})
		if err != nil {
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
			if report, err := migrations.Status(ctx, db); err == nil && !report.Empty() {
				p.Add("%s: the database holds a Gosid schema already: restore into an empty database", s.Source("database-url"))
			}
			db.Close()
		}
	}, func() error {
		if st.DatabaseURL != "" {
			if err := migrations.PGRestore(ctx, st.DatabaseURL, from); err != nil {
				return err
			}
		} else if err := migrations.RestoreSQLite(ctx, from, st.sqlitePath()); err != nil {
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
