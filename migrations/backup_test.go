package migrations_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/migrations"
)

// TestBackupSQLite: a backup is written through WriteAtomic and checked; a
// restore puts it in place; a restore of something that is not a Gosid
// database fails and leaves no database and no temporary file behind, as
// does a failed write. (cmd/gosid's TestBackupRestore runs the commands on
// both dialects.)
func TestBackupSQLite(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "gosid.backup")
	if err := migrations.WriteAtomic(out, func(tmp string) error { return migrations.BackupSQLite(ctx, db, tmp) }); err != nil {
		t.Fatalf("backup: %v", err)
	}
	if _, err := os.Stat(out + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the partial file is left after a backup (%v)", err)
	}

	to := filepath.Join(dir, "restored", "gosid.db")
	if err := migrations.RestoreSQLite(ctx, out, to); err != nil {
		t.Fatalf("restore: %v", err)
	}
	restored, err := sqldb.Open(ctx, sqldb.Config{SQLitePath: to})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if report, err := migrations.Status(ctx, restored); err != nil || report.Empty() || len(report.Behind()) > 0 {
		t.Fatalf("the restored database's schema: %+v (%v)", report, err)
	}

	// An empty SQLite database, and a file that is no database at all.
	empty := filepath.Join(dir, "empty.db")
	e, err := sqldb.Open(ctx, sqldb.Config{SQLitePath: empty})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a database, but long enough to be taken for one's first page"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{empty, junk} {
		to := filepath.Join(dir, "failed", filepath.Base(from), "gosid.db")
		if err := migrations.RestoreSQLite(ctx, from, to); err == nil {
			t.Errorf("restore of %s: no error", filepath.Base(from))
		}
		left, _ := filepath.Glob(filepath.Join(filepath.Dir(to), "*"))
		if len(left) > 0 {
			t.Errorf("a failed restore of %s left %v", filepath.Base(from), left)
		}
	}

	failed := filepath.Join(dir, "failed.backup")
	boom := errors.New("boom")
	err = migrations.WriteAtomic(failed, func(tmp string) error {
		if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WriteAtomic: %v, want the write's error", err)
	}
	for _, p := range []string{failed, failed + ".partial"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a failed write left %s (%v)", filepath.Base(p), err)
		}
	}
}
