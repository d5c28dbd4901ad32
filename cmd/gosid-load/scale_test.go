package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestScale (issue 20, item 3), under GOSID_SCALE=1 (with
// GOSID_TEST_PG_STAT_STATEMENTS=1 for the slowest queries): the same
// journeys by 8 citizens drawn at random from 1,000 and then 1,000,000
// imported accounts (GOSID_SCALE_ACCOUNTS to choose), one replica on
// PostgreSQL, 30 s each; sign-in, code, refresh and userinfo p99 at each
// size against the smallest (bound 1.2×), the import's rate, the database's
// size per account, and the statements that took the most time.
func TestScale(t *testing.T) {
	if os.Getenv("GOSID_SCALE") != "1" {
		t.Skip("GOSID_SCALE=1 measures journeys at 1,000 and 1,000,000 accounts (about 15 minutes)")
	}
	sizes := []int{1000, 1000000}
	if v := os.Getenv("GOSID_SCALE_ACCOUNTS"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 8 {
				t.Fatalf("GOSID_SCALE_ACCOUNTS: %q", v)
			}
			sizes = append(sizes, n)
		}
	}
	bin := gosidBinary(t)
	duration := 30 * time.Second
	if d, err := time.ParseDuration(os.Getenv("GOSID_SOAK_DURATION")); err == nil && d > 0 {
		duration = d
	}
	steps := []string{"login", "token", "refresh", "userinfo", "logout"}
	var base map[string]float64
	var table bytes.Buffer
	fmt.Fprintf(&table, "| accounts | import /s | DB MB | bytes per account | journeys/s |")
	for _, s := range steps {
		fmt.Fprintf(&table, " %s p99 ms |", s)
	}
	table.WriteString("\n")
	for _, n := range sizes {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			ctx := context.Background()
			pg := sqldbtest.Restartable(t)
			db, err := sql.Open("pgx", pg.URL())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			stats := os.Getenv("GOSID_TEST_PG_STAT_STATEMENTS") == "1"
			if stats {
				if _, err := db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
					t.Fatal(err)
				}
			}
			var empty int64
			if err := db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&empty); err != nil {
				t.Fatal(err)
			}
			cfg := &soakConfig{Gosid: bin, DatabaseURL: pg.URL(), DataDir: t.TempDir(), Replicas: 1, Citizens: 8, Accounts: n,
				Duration: duration, Refreshes: 3, Fault: "none", Timeout: 30 * time.Second}
			var log, out bytes.Buffer
			cfg.beforeRun = func() error {
				// As many live sessions, authorization requests and
				// refresh tokens as accounts (other citizens signed in to
				// other sites): the journeys' look-ups by session must
				// not read them all.
				if err := scaleSessions(ctx, db, n); err != nil {
					return err
				}
				// The steady state an operator's database is in, not the
				// aftermath of a bulk load: statistics current, dead
				// tuples gone (else autovacuum does it during the run).
				if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
					return err
				}
				if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
					return err
				}
				if stats {
					// Only the journeys: not the import's statements. And
					// a tenth of their plans, with their row counts, into
					// the server's log.
					for _, q := range []string{`SELECT pg_stat_statements_reset()`,
						`ALTER SYSTEM SET auto_explain.log_min_duration = 0`, `ALTER SYSTEM SET auto_explain.sample_rate = 0.1`,
						`ALTER SYSTEM SET auto_explain.log_analyze = on`, `ALTER SYSTEM SET auto_explain.log_timing = off`,
						`ALTER SYSTEM SET auto_explain.log_buffers = on`,
						`SELECT pg_reload_conf()`} {
						if _, err := db.ExecContext(ctx, q); err != nil {
							return fmt.Errorf("%s: %w", q, err)
						}
					}
				}
				return nil
			}
			rep, err := soak(ctx, cfg, &log)
			if err != nil {
				t.Fatalf("soak: %v\n%s", err, log.String())
			}
			rep.writeTable(&out)
			t.Logf("\n%s", out.String())
			if rep.Verdict != "pass" {
				t.Fatalf("verdict %s", rep.Verdict)
			}
			var size int64
			if err := db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&size); err != nil {
				t.Fatal(err)
			}
			p99 := map[string]float64{}
			for _, s := range rep.Steps {
				p99[s.Step] = s.P99ms
			}
			fmt.Fprintf(&table, "| %d | %.0f | %.0f | %.0f | %.1f |", n, float64(n)/rep.ImportSeconds, float64(size)/1e6,
				float64(size-empty)/float64(n), rep.JourneysPerSec)
			for _, s := range steps {
				fmt.Fprintf(&table, " %.1f", p99[s])
				if base != nil && base[s] > 0 {
					fmt.Fprintf(&table, " (%.2f×)", p99[s]/base[s])
				}
				table.WriteString(" |")
			}
			table.WriteString("\n")
			if base == nil {
				base = p99
			} else {
				for _, s := range steps {
					if r := p99[s] / base[s]; r > 1.2 {
						t.Errorf("%s p99 at %d accounts is %.2f× the figure at %d", s, n, r, sizes[0])
					}
				}
			}
			if stats {
				if _, err := db.ExecContext(ctx, `ALTER SYSTEM RESET ALL`); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, `SELECT pg_reload_conf()`); err != nil {
					t.Fatal(err)
				}
				logText, err := os.ReadFile(pg.LogPath())
				if err != nil {
					t.Fatal(err)
				}
				plans := autoExplainPlans(string(logText))
				t.Logf("%d plans in %d bytes of the server's log", len(plans), len(logText))
				rows, err := db.QueryContext(ctx, `SELECT query, calls, mean_exec_time, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 160)
					FROM pg_stat_statements WHERE calls >= 10 ORDER BY mean_exec_time DESC LIMIT 12`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var top strings.Builder
				for rows.Next() {
					var calls int64
					var mean, total float64
					var full, q string
					if err := rows.Scan(&full, &calls, &mean, &total, &q); err != nil {
						t.Fatal(err)
					}
					fmt.Fprintf(&top, "%8d calls  %7.3f ms mean  %9.1f ms total  %s\n", calls, mean, total, q)
					if p, ok := plans[queryKey(full)]; ok {
						fmt.Fprintf(&top, "    %s\n", strings.ReplaceAll(p, "\n", "\n    "))
					} else {
						top.WriteString("    (no plan sampled)\n")
					}
				}
				t.Logf("slowest statements at %d accounts (by mean time):\n%s", n, top.String())
			}
		})
	}
	t.Logf("\n%s", table.String())
}

// scaleSessions adds n live SSO sessions (one per account, up to n), n
// finished authorization requests and n refresh tokens, each in a family
// of its own, as other citizens' sign-ins to other sites leave them.
func scaleSessions(ctx context.Context, db *sql.DB, n int) error {
	now := time.Now().UnixMicro()
	later := now + int64(24*time.Hour/time.Microsecond)
	for _, q := range []string{
		`INSERT INTO sessions (id, token_hash, account_id, amr, auth_time, created_at, last_seen_at, idle_until, expires_at)
			SELECT 'scale-s' || n, sha256(('scale-s' || n)::bytea), id, 'pwd', $2, $2, $2, $3, $3
			FROM (SELECT id, row_number() OVER () AS n FROM accounts LIMIT $1) a`,
		`INSERT INTO oidc_auth_requests (id, client_id, request, session_id, done, family_id, created_at, expires_at)
			SELECT 'scale-a' || i, 'scale', '{}', 'scale-s' || i, TRUE, 'scale-f' || i, $2, $3 FROM generate_series(1, $1::int) i`,
		`INSERT INTO oidc_refresh_tokens (hash, family_id, client_id, account_id, session_id, scopes, amr, acr, auth_time, created_at, expires_at)
			SELECT sha256(('scale-r' || i)::bytea), 'scale-f' || i, 'scale', gen_random_uuid(), 'scale-s' || i, 'openid', 'pwd',
				'urn:gosid:loa:simplified', $2, $2, $3 FROM generate_series(1, $1::int) i`,
	} {
		if _, err := db.ExecContext(ctx, q, n, now, later); err != nil {
			return fmt.Errorf("scale sessions: %w", err)
		}
	}
	return nil
}
