package main

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestBackupRestore (issue 20, item 5): `gosid backup` copies a database
// that is being written to, `gosid restore` puts the copy into an empty
// data dir or database, and a citizen registered before the backup signs
// in with their password on the restored one (with the same master key).
// A backup never overwrites a file, and a restore never lands on a
// database that holds Gosid's schema.
func TestBackupRestore(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			place := func() []string {
				args := []string{"--data-dir", t.TempDir()}
				if dialect == sqldb.Postgres {
					args = append(args, "--database-url", sqldbtest.EmptyPostgresURL(t))
				}
				return args
			}
			open := func(args []string) *sqldb.DB {
				cfg := sqldb.Config{SQLitePath: filepath.Join(args[1], "gosid.db")}
				if len(args) > 2 {
					cfg = sqldb.Config{URL: args[3]}
				}
				db, err := sqldb.Open(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			src, dst := cli{t, place()}, cli{t, place()}
			src.ok("migrate")
			db := open(src.base)
			mk := newMasterKey(t)
			c := sqldbtest.NewClock(time.Now())
			b := newBrowser(t, startIdP(t, db, mk, c))
			b.register("phone", "+79101110951", "+79101110951", "Копиев", "Архип")
			b.post("/logout", nil).expectRedirect(t, "/login")

			// Writes go on while the backup is taken.
			if _, err := db.Exec(ctx, `CREATE TABLE backup_probe (n INTEGER NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := db.Exec(ctx, `INSERT INTO backup_probe (n) VALUES ($1)`, n); err != nil {
						t.Error(err)
						return
					}
				}
			})
			time.Sleep(100 * time.Millisecond)
			out := filepath.Join(t.TempDir(), "gosid.backup")
			printed := src.ok("backup", "--out", out)
			close(stop)
			wg.Wait()
			if !strings.Contains(printed, "Backup written") || !strings.Contains(printed, "master key is not in it") {
				t.Fatalf("backup printed:\n%s", printed)
			}
			if r := src.run("backup", "--out", out); r.code != exitConfig || !strings.Contains(r.stderr, "never overwrites") {
				t.Fatalf("a backup onto an existing file: exit %d\n%s", r.code, r.stderr)
			}

			if printed := dst.ok("restore", "--from", out); !strings.Contains(printed, "Restored from") {
				t.Fatalf("restore printed:\n%s", printed)
			}
			if r := dst.run("restore", "--from", out); r.code != exitConfig {
				t.Fatalf("a restore onto a restored database: exit %d\n%s", r.code, r.stderr)
			}
			restored := open(dst.base)
			var probes int
			if err := restored.QueryRow(ctx, `SELECT COUNT(*) FROM backup_probe`).Scan(&probes); err != nil || probes == 0 {
				t.Fatalf("the rows written before the backup: %d (%v)", probes, err)
			}
			b2 := newBrowser(t, startIdP(t, restored, mk, c))
			b2.post("/login", url.Values{"login": {"+79101110951"}, "password": {goodPassword}}).expectRedirect(t, "/account")
		})
	}
}
