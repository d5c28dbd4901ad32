package migrations_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/migrations"
)

// The bookkeeping of releases before per-module schemas (up to commit
// ecf14cb), verbatim: one sequence in schema_migrations(version, name,
// applied_at), every migration applied in a transaction that first inserts
// its row.
const oldCreateTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`

const oldInsert = `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`

// oldStatus is that release's readiness query.
const oldStatus = `SELECT version FROM schema_migrations`

// oldUp migrates db as that release did, up to version upTo of today's idp
// migrations (the same files, moved), with applied_at 1000+version so that
// the rows can be recognised afterwards.
func oldUp(t *testing.T, db *sqldb.DB, upTo int) []migrations.Migration {
	t.Helper()
	ctx := context.Background()
	all, err := migrations.Load(db.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, oldCreateTable); err != nil {
		t.Fatal(err)
	}
	for _, m := range all[:upTo] {
		if m.Module != "idp" {
			t.Fatalf("today's migrations do not start with idp's: %s", m)
		}
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, oldInsert, m.Version, m.Name, 1000+m.Version); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, m.SQL)
			return err
		})
		if err != nil {
			t.Fatalf("old runner, %s: %v", m, err)
		}
	}
	return all[:upTo]
}

// someData puts rows into tables of the first four migrations and into the
// activity log's single chain (migration 10, as its release wrote it: no
// chain, head row 1), in both dialects alike (sealed values and hashes are
// arbitrary bytes here).
func someData(t *testing.T, db *sqldb.DB) {
	t.Helper()
	ctx := context.Background()
	const acct = "0b7c7d2e-2f4c-4a55-9a8e-3f1d2c3b4a59"
	for _, s := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO data_keys (id, seq, master_key_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)`,
			[]any{"dk1", 1, "mk", []byte{1, 2, 3}, 11}},
		{`INSERT INTO signing_keys (kid, alg, seq, public_der, private_enc, data_key_id, created_at, signs_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			[]any{"kid1", "RS256", 1, []byte{4, 5}, []byte{6, 7}, "dk1", 12, 13}},
		{`INSERT INTO accounts (id, family_name, given_name, snils_index, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			[]any{acct, "Иванова", "Анна", []byte{9, 9}, "$argon2id$x", 14, 15}},
		{`INSERT INTO contacts (account_id, kind, value_enc, value_index, verified_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			[]any{acct, "phone", []byte{1}, []byte{2}, 16, 17}},
		{`INSERT INTO account_events (account_id, at, kind, result) VALUES ($1, $2, $3, $4)`,
			[]any{acct, 18, "login", "ok"}},
		{`INSERT INTO account_events (account_id, at, kind, result) VALUES (NULL, $1, $2, $3)`,
			[]any{19, "login", "unknown"}},
		{`INSERT INTO dev_messages (channel, recipient, kind, body_text, created_at) VALUES ($1, $2, $3, $4, $5)`,
			[]any{"sms", "+70000000000", "code", "Код: 000000", 20}},
		{`INSERT INTO audit_log (seq, at, account_id, actor_kind, actor_id, action, detail, ip, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			[]any{1, 21, acct, "citizen", acct, "password.changed", "", "192.0.2.1", make([]byte, 32), []byte{0xa1}}},
		{`INSERT INTO audit_log (seq, at, account_id, actor_kind, actor_id, action, detail, ip, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			[]any{2, 22, "", "system", "", "settings.changed", `{"n":"2"}`, "", []byte{0xa1}, []byte{0xa2}}},
		{`INSERT INTO audit_head (id, seq, hash) VALUES ($1, $2, $3)`, []any{1, 2, []byte{0xa2}}},
	} {
		if _, err := db.Exec(ctx, s.q, s.args...); err != nil {
			t.Fatalf("%s: %v", s.q, err)
		}
	}
}

// snapshot describes every table but schema_migrations: its definition
// (columns, indexes) and every row, so that two snapshots are equal only if
// nothing else changed. With like, it reads the tables and columns of that
// earlier snapshot only (a later migration may add some), by name: a
// cached "SELECT *" would meet a changed result type.
func snapshot(t *testing.T, db *sqldb.DB, like map[string][]string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	var tablesQ, shapeQ string
	switch db.Dialect() {
	case sqldb.Postgres:
		tablesQ = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'`
		shapeQ = `SELECT c.table_name || '.' || c.column_name || ' ' || c.data_type || ' ' || c.is_nullable || ' ' || coalesce(c.column_default, '')
			FROM information_schema.columns c
			WHERE c.table_schema = current_schema() AND c.table_name <> 'schema_migrations'
			UNION ALL
			SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'`
	case sqldb.SQLite:
		tablesQ = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`
		shapeQ = `SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master
			WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> 'schema_migrations'`
	}
	tables, err := sqldb.Strings(ctx, db, tablesQ)
	if err != nil {
		t.Fatal(err)
	}
	shape, err := sqldb.Strings(ctx, db, shapeQ)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(shape)
	out := map[string][]string{"(schema)": shape}
	for _, table := range tables {
		cols := "*"
		if like != nil {
			if like[table+" columns"] == nil {
				continue
			}
			cols = strings.Join(like[table+" columns"], ", ")
		}
		out[table+" columns"], out[table] = dumpRows(t, db, table, cols)
	}
	return out
}

// dumpRows returns the table's column names and its rows, sorted.
func dumpRows(t *testing.T, db *sqldb.DB, table, cols string) ([]string, []string) {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT `+cols+` FROM `+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			fmt.Fprintf(&b, "%s=%#v ", names[i], v)
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return names, out
}

// TestUpgradeFromSingleSequence: a database created by the release before
// per-module schemas, at its head and part-way, upgrades in place: the
// bookkeeping is converted (every old version becomes idp's, with its name
// and time), nothing is applied twice, only the missing migrations are
// applied, and every other table and row is left as it was.
func TestUpgradeFromSingleSequence(t *testing.T) {
	for _, behind := range []int{0, 2} {
		t.Run(fmt.Sprintf("%d behind", behind), func(t *testing.T) {
			sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
				ctx := context.Background()
				all, err := migrations.Load(db.Dialect())
				if err != nil {
					t.Fatal(err)
				}
				// The old release had one sequence: today's idp migrations.
				old := oldUp(t, db, migrations.Head(db.Dialect(), "idp")-behind)
				someData(t, db)
				before := snapshot(t, db, nil)
				// An old replica's readiness query, prepared (and cached by
				// the driver) before the conversion, still answers after it.
				oldReady, err := sqldb.Strings(ctx, db, oldStatus)
				if err != nil || len(oldReady) != len(old) {
					t.Fatalf("old readiness query before the upgrade: %v, %v", oldReady, err)
				}

				applied, err := migrations.Up(ctx, db)
				if err != nil {
					t.Fatalf("Up on the old release's database: %v", err)
				}
				if want := all[len(old):]; !slices.EqualFunc(applied, want, sameMigration) {
					t.Fatalf("Up applied %v, want only %v", applied, want)
				}
				got := bookkeeping(t, db)
				if len(got) != len(all) {
					t.Fatalf("schema_migrations has %d rows, want %d: %+v", len(got), len(all), got)
				}
				for i, m := range old {
					if want := (row{"idp", m.Version, m.Name, int64(1000 + m.Version)}); got[i] != want {
						t.Errorf("converted row %d = %+v, want %+v", i, got[i], want)
					}
				}
				// The shape is today's: (module, version) is the key, and a
				// module's row needs its module.
				if _, err := db.Exec(ctx, `INSERT INTO schema_migrations (module, version, name, applied_at) VALUES ('payments', 1, 'x', 1)`); err != nil {
					t.Errorf("insert payments version 1 beside idp version 1: %v", err)
				}
				if _, err := db.Exec(ctx, oldInsert, 99, "x", 1); err == nil {
					t.Error("a row without its module was accepted")
				}
				if _, err := db.Exec(ctx, `DELETE FROM schema_migrations WHERE module = 'payments' OR version = 99`); err != nil {
					t.Fatal(err)
				}

				after := snapshot(t, db, before)
				if len(applied) > 0 {
					// The migrations applied now change the schema.
					delete(before, "(schema)")
					delete(after, "(schema)")
				}
				if diff := diffSnapshots(before, after); diff != "" {
					t.Errorf("the upgrade changed tables or rows:\n%s", diff)
				}
				// The activity log's single chain became chain 0 (idp/audit
				// verifies it as such: TestChainFromBeforeChains), its head
				// still row 1.
				if got, err := sqldb.Strings(ctx, db, `SELECT chain || ':' || seq FROM audit_log ORDER BY seq`); err != nil || !slices.Equal(got, []string{"0:1", "0:2"}) {
					t.Errorf("the activity log after the upgrade: %v, %v; want entries 1 and 2 of chain 0", got, err)
				}
				for range 3 { // on each pooled connection, likely
					if got, err := sqldb.Strings(ctx, db, oldStatus); err != nil || len(got) != len(all) {
						t.Errorf("old readiness query after the upgrade: %v, %v; want %d versions", got, err, len(all))
					}
				}
				report, err := migrations.Status(ctx, db)
				if err != nil || len(report.Behind()) != 0 {
					t.Fatalf("Status after the upgrade = %+v, %v; want every module at head", report, err)
				}
				if again, err := migrations.Up(ctx, db); err != nil || len(again) != 0 {
					t.Fatalf("second Up applied %v (err %v), want nothing", again, err)
				}
				// Serial columns carry on where they were.
				if _, err := db.Exec(ctx, `INSERT INTO dev_messages (channel, recipient, kind, body_text, created_at) VALUES ('sms', '+7', 'code', 'x', 21)`); err != nil {
					t.Errorf("insert after the upgrade: %v", err)
				}
			})
		})
	}
}

// TestConcurrentUpgrade: replicas of the new release starting at once on
// the old release's database convert its bookkeeping once and apply each
// missing migration once.
func TestConcurrentUpgrade(t *testing.T) {
	prepare := func(t *testing.T) func(db *sqldb.DB) int {
		return func(db *sqldb.DB) int {
			all, err := migrations.Load(db.Dialect())
			if err != nil {
				t.Fatal(err)
			}
			// The old release had idp's migrations only (those of today's
			// that come first).
			n := 0
			for n < len(all) && all[n].Module == "idp" {
				n++
			}
			old := oldUp(t, db, n)
			someData(t, db)
			return len(old)
		}
	}
	for _, tc := range []struct {
		name string
		cfg  func(t *testing.T) sqldb.Config
	}{
		{"postgres", func(t *testing.T) sqldb.Config { return sqldb.Config{URL: sqldbtest.EmptyPostgresURL(t)} }},
		{"sqlite", func(t *testing.T) sqldb.Config { return sqldb.Config{SQLitePath: t.TempDir() + "/race.db"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 5 {
				db := raceUp(t, tc.cfg(t), prepare(t))
				for _, r := range bookkeeping(t, db) {
					if !slices.Contains(migrations.Modules(), r.module) {
						t.Fatalf("row %+v after the race, want our modules' only", r)
					}
				}
			}
		})
	}
}

// TestOldReplicaStaysReady: during a rolling upgrade, replicas of the old
// release keep serving against the converted bookkeeping: their readiness
// query still finds every version they know, and their Up finds nothing
// to do.
func TestOldReplicaStaysReady(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		versions, err := sqldb.Strings(ctx, db, oldStatus)
		if err != nil {
			t.Fatalf("old readiness query: %v", err)
		}
		for v := 1; v <= migrations.Head(db.Dialect(), "idp"); v++ {
			if !slices.Contains(versions, fmt.Sprint(v)) {
				t.Errorf("old readiness query misses version %d: %v", v, versions)
			}
		}
		// The old runner's table creation is a no-op on today's table.
		if _, err := db.Exec(ctx, oldCreateTable); err != nil {
			t.Errorf("old runner's CREATE TABLE IF NOT EXISTS: %v", err)
		}
	})
}

func diffSnapshots(a, b map[string][]string) string {
	var out strings.Builder
	for k, av := range a {
		if bv, ok := b[k]; !ok || !slices.Equal(av, bv) {
			fmt.Fprintf(&out, "%s:\n  before %q\n  after  %q\n", k, av, b[k])
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			fmt.Fprintf(&out, "%s: new\n", k)
		}
	}
	return out.String()
}

// TestConversionOnlyOnce: a runner that saw the old bookkeeping but reaches
// the conversion after another runner did it (and a module's migrations
// were recorded since) must leave the converted table alone: relabelling
// the rows would turn that module's versions into idp's. The old database
// here is one whose first migration failed (the old runner had created its
// table), so that a relabelled row would not collide with an idp row and
// fail by luck.
func TestConversionOnlyOnce(t *testing.T) {
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		oldUp(t, db, 0)
		if err := migrations.ConvertOnce(ctx, db); err != nil {
			t.Fatalf("convert the old bookkeeping: %v", err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO schema_migrations (module, version, name, applied_at) VALUES ('portal', 1, 'catalogue', 7)`); err != nil {
			t.Fatal(err)
		}
		before := bookkeeping(t, db)
		if err := migrations.ConvertOnce(ctx, db); err != nil {
			t.Fatalf("convert again: %v", err)
		}
		if after := bookkeeping(t, db); !slices.Equal(before, after) {
			t.Fatalf("a second conversion changed schema_migrations:\n  before %+v\n  after  %+v", before, after)
		}
	})
}
