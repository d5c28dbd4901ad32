package sqldb_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gosid/gosid/internal/overload"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

const scratch = `CREATE TABLE scratch (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, at BIGINT NOT NULL)`

func TestSentinels(t *testing.T) {
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.Exec(ctx, scratch); err != nil {
			t.Fatal(err)
		}
		var n int
		err := db.QueryRow(ctx, `SELECT n FROM scratch WHERE id = $1`, 1).Scan(&n)
		if !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("missing row: got %v, want ErrNotFound", err)
		}
		now := time.Date(2026, 11, 22, 10, 0, 0, 123456000, time.UTC)
		if _, err := db.Exec(ctx, `INSERT INTO scratch (id, n, at) VALUES ($1, $2, $3)`, 1, 7, sqldb.Micros(now)); err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(ctx, `INSERT INTO scratch (id, n, at) VALUES ($1, $2, $3)`, 1, 8, 0)
		if !errors.Is(err, sqldb.ErrConflict) {
			t.Fatalf("duplicate key: got %v, want ErrConflict", err)
		}
		var at int64
		if err := db.QueryRow(ctx, `SELECT n, at FROM scratch WHERE id = $1`, 1).Scan(&n, &at); err != nil {
			t.Fatal(err)
		}
		if n != 7 || !sqldb.Time(at).Equal(now) {
			t.Fatalf("read back n=%d at=%v, want 7 at %v", n, sqldb.Time(at), now)
		}
	})
}

// TestInTxRollsBack: an error from the callback leaves nothing written.
func TestInTxRollsBack(t *testing.T) {
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.Exec(ctx, scratch); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO scratch (id, n, at) VALUES (1, 1, 0)`); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx returned %v, want the callback's error", err)
		}
		var count int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM scratch`).Scan(&count); err != nil || count != 0 {
			t.Fatalf("after rollback: %d rows (err %v), want 0", count, err)
		}
	})
}

// TestAfterCommit: work after the commit runs once the outermost
// transaction has committed, with the row visible, and not at all when it
// rolls back.
func TestAfterCommit(t *testing.T) {
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.Exec(ctx, scratch); err != nil {
			t.Fatal(err)
		}
		var ran []int
		write := func(id int, fail error) error {
			return db.InTx(ctx, func(tx *sqldb.Tx) error {
				// Nested, as a store bound to a caller's transaction runs.
				err := tx.InTx(ctx, func(tx *sqldb.Tx) error {
					if _, err := tx.Exec(ctx, `INSERT INTO scratch (id, n, at) VALUES ($1, 1, 0)`, id); err != nil {
						return err
					}
					tx.AfterCommit(func() {
						var n int
						if err := db.QueryRow(ctx, `SELECT count(*) FROM scratch WHERE id = $1`, id).Scan(&n); err != nil || n != 1 {
							t.Errorf("after the commit of row %d: %d rows (%v)", id, n, err)
						}
						ran = append(ran, id)
					})
					return nil
				})
				if err != nil {
					return err
				}
				if len(ran) != 0 {
					t.Errorf("ran %v before the outer commit", ran)
				}
				return fail
			})
		}
		boom := errors.New("boom")
		if err := write(1, boom); !errors.Is(err, boom) {
			t.Fatalf("rolled back: %v", err)
		}
		if err := write(2, nil); err != nil {
			t.Fatal(err)
		}
		if len(ran) != 1 || ran[0] != 2 {
			t.Fatalf("ran after %v, want the committed transaction's only", ran)
		}
	})
}

// TestInTxCountsExactly: concurrent read-modify-write transactions with a
// compare-and-swap update lose no increment; conflicts are retried.
func TestInTxCountsExactly(t *testing.T) {
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.Exec(ctx, scratch); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO scratch (id, n, at) VALUES (1, 0, 0)`); err != nil {
			t.Fatal(err)
		}
		errCAS := errors.New("lost race")
		const workers, each = 8, 25
		var wg sync.WaitGroup
		var lost atomic.Int64
		for range workers {
			wg.Go(func() {
				for range each {
					for {
						err := db.InTx(ctx, func(tx *sqldb.Tx) error {
							var n int
							if err := tx.QueryRow(ctx, `SELECT n FROM scratch WHERE id = 1`).Scan(&n); err != nil {
								return err
							}
							res, err := tx.Exec(ctx, `UPDATE scratch SET n = $1 WHERE id = 1 AND n = $2`, n+1, n)
							if err != nil {
								return err
							}
							if k, _ := res.RowsAffected(); k != 1 {
								return errCAS
							}
							return nil
						})
						if errors.Is(err, errCAS) {
							lost.Add(1)
							continue
						}
						if err != nil {
							t.Error(err)
						}
						break
					}
				}
			})
		}
		wg.Wait()
		var n int
		if err := db.QueryRow(ctx, `SELECT n FROM scratch WHERE id = 1`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != workers*each {
			t.Fatalf("counter = %d, want %d", n, workers*each)
		}
		t.Logf("%d compare-and-swap retries", lost.Load())
	})
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want sqldb.Dialect
		ok   bool
	}{
		{"", sqldb.SQLite, true},
		{"postgres://u:p@localhost:5432/gosid", sqldb.Postgres, true},
		{"postgresql://localhost/gosid?sslmode=disable", sqldb.Postgres, true},
		{"postgres://localhost:5432", "", false},
		{"postgres://localhost:notaport/gosid", "", false},
		{"mysql://localhost/gosid", "", false},
		{"::::", "", false},
	} {
		got, err := sqldb.ParseURL(tc.url)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseURL(%q) = %q, %v; want %q, ok=%v", tc.url, got, err, tc.want, tc.ok)
		}
	}
	if _, err := sqldb.ParseURL("postgres://user:hunter2@host:bad/db"); err != nil && containsSecret(err.Error()) {
		t.Errorf("error echoes the password: %v", err)
	}
}

func containsSecret(s string) bool {
	for i := 0; i+7 <= len(s); i++ {
		if s[i:i+7] == "hunter2" {
			return true
		}
	}
	return false
}

// TestCommitFault: the injected fault runs after the commit, which stands,
// and the caller sees ErrCommitUnknown.
func TestCommitFault(t *testing.T) {
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.Exec(ctx, scratch); err != nil {
			t.Fatal(err)
		}
		db.SetCommitFault(func() error { return errors.New("connection reset at COMMIT") })
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO scratch (id, n, at) VALUES (1, 1, 0)`)
			return err
		})
		if !errors.Is(err, sqldb.ErrCommitUnknown) {
			t.Fatalf("InTx with a commit fault: %v, want ErrCommitUnknown", err)
		}
		db.SetCommitFault(nil)
		var n int
		if err := db.QueryRow(ctx, `SELECT n FROM scratch WHERE id = 1`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("the commit did not stand: %d %v", n, err)
		}
	})
}

// TestRestartableCluster: a test's own server goes away and comes back;
// the same handle reconnects.
func TestRestartableCluster(t *testing.T) {
	ctx := context.Background()
	c := sqldbtest.Restartable(t)
	db, err := sqldb.Open(ctx, sqldb.Config{URL: c.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	if err := db.Ping(ctx); err == nil {
		t.Fatal("the database answered while stopped")
	}
	c.Start()
	deadline := time.Now().Add(10 * time.Second)
	for db.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("no connection after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCheckWritableDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, ok := range map[string]bool{
		dir:                                 true,
		filepath.Join(dir, "new", "deeper"): true,
		file:                                false,
		filepath.Join(file, "below"):        false,
	} {
		if err := sqldb.CheckWritableDir(path); (err == nil) != ok {
			t.Errorf("CheckWritableDir(%s) = %v, want ok %v", path, err, ok)
		}
	}
}

// holdPool takes every connection of db's pool and returns what gives
// them back.
func holdPool(t *testing.T, db *sqldb.DB) (release func()) {
	t.Helper()
	var held []interface{ Close() error }
	for range db.Stats().MaxOpenConnections {
		c, err := db.SQL().Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	return func() {
		for _, c := range held {
			c.Close()
		}
	}
}

// TestRequestWait: a request's statements share one wait for pooled
// connections (RequestWait, summed over them): with the pool exhausted, a
// request that has waited RequestWait already fails at once, one that
// has waited half of it waits the rest, one that waited nothing but
// arrived long ago (hashing a password, say) still gets the whole, and a
// free connection serves a request past its wait all the same.
func TestRequestWait(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{SQLitePath: sqldbtest.SQLitePath(t), MaxOpenConns: 1, AcquireTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	request := func(arrivedAgo, waited time.Duration) context.Context {
		c := overload.WithArrival(ctx, time.Now().Add(-arrivedAgo))
		overload.AddWait(c, waited)
		return c
	}
	if _, err := db.Exec(request(0, sqldb.RequestWait), `SELECT 1`); err != nil {
		t.Fatalf("a free connection for a request past its wait: %v", err)
	}
	defer holdPool(t, db)()
	for _, c := range []struct {
		name      string
		ctx       context.Context
		min, most time.Duration
	}{
		{"past its wait", request(0, sqldb.RequestWait), 0, 200 * time.Millisecond},
		{"half through", request(0, sqldb.RequestWait/2), sqldb.RequestWait/2 - 100*time.Millisecond, sqldb.RequestWait/2 + 500*time.Millisecond},
		{"arrived long ago, waited nothing", request(time.Minute, 0), sqldb.RequestWait - 100*time.Millisecond, sqldb.RequestWait + 500*time.Millisecond},
	} {
		start := time.Now()
		_, err := db.Exec(c.ctx, `SELECT 1`)
		took := time.Since(start)
		if !errors.Is(err, sqldb.ErrPoolTimeout) || took < c.min || took > c.most {
			t.Errorf("%s: %v after %s, want ErrPoolTimeout within %s–%s", c.name, err, took, c.min, c.most)
		}
		if w, _ := overload.Waited(c.ctx); w < took-50*time.Millisecond {
			t.Errorf("%s: the wait counted is %s of %s", c.name, w, took)
		}
	}
}

// TestPoolAcquireTimeout: with every pooled connection held, a statement,
// a query and a transaction each fail within about the acquire timeout
// with ErrPoolTimeout (an overload.ErrOverloaded, so a client gets 503 and
// Retry-After) instead of waiting without bound; once a connection is back
// they work, and a thousand queries leave none in use.
func TestPoolAcquireTimeout(t *testing.T) {
	const timeout = 150 * time.Millisecond
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			cfg := sqldb.Config{SQLitePath: sqldbtest.SQLitePath(t), MaxOpenConns: 2, AcquireTimeout: timeout}
			if dialect == "postgres" {
				cfg = sqldb.Config{URL: sqldbtest.PostgresURL(t), MaxOpenConns: 2, AcquireTimeout: timeout}
			}
			db, err := sqldb.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			release := holdPool(t, db)
			var n int
			for name, try := range map[string]func() error{
				"Exec":     func() error { _, err := db.Exec(ctx, `SELECT 1`); return err },
				"QueryRow": func() error { return db.QueryRow(ctx, `SELECT 1`).Scan(&n) },
				"Query": func() error {
					rows, err := db.Query(ctx, `SELECT 1`)
					if err == nil {
						rows.Close()
					}
					return err
				},
				"InTx": func() error { return db.InTx(ctx, func(*sqldb.Tx) error { return nil }) },
			} {
				start := time.Now()
				err := try()
				took := time.Since(start)
				if !errors.Is(err, sqldb.ErrPoolTimeout) || !errors.Is(err, overload.ErrOverloaded) {
					t.Fatalf("%s with the pool exhausted: %v", name, err)
				}
				if s, ok := overload.RetryAfter(err); !ok || s != 1 {
					t.Fatalf("%s: Retry-After %d", name, s)
				}
				if took < timeout || took > timeout+time.Second {
					t.Fatalf("%s failed after %s, want about %s", name, took, timeout)
				}
			}
			// A caller whose own context ends first gets its own error.
			cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			if _, err := db.Exec(cctx, `SELECT 1`); errors.Is(err, sqldb.ErrPoolTimeout) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the caller's deadline: %v", err)
			}
			release()
			for i := range 1000 {
				rows, err := db.Query(ctx, `SELECT 1`)
				if err != nil {
					t.Fatalf("query %d: %v", i, err)
				}
				for rows.Next() {
				}
				rows.Close()
				if err := db.QueryRow(ctx, `SELECT 1`).Scan(&n); err != nil || n != 1 {
					t.Fatalf("query row %d: %v", i, err)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for db.Stats().InUse != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d connections still in use after the queries", db.Stats().InUse)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// BenchmarkAcquire: a one-row query through DB (a connection taken within
// the acquire timeout, then the query on it) beside the same query on the
// database/sql pool directly, 8 goroutines, PostgreSQL. Reported: the
// ratio of their times (the cost of the bounded wait).
// Run: go test -run '^$' -bench Acquire ./internal/sqldb
func BenchmarkAcquire(b *testing.B) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: sqldbtest.PostgresURL(b), MaxOpenConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	run := func(b *testing.B, query func() error) time.Duration {
		b.Helper()
		start := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 500 {
					if err := query(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	var n int
	var bounded, direct time.Duration
	for b.Loop() {
		bounded += run(b, func() error { return db.QueryRow(ctx, `SELECT 1`).Scan(&n) })
		direct += run(b, func() error { return db.SQL().QueryRowContext(ctx, `SELECT 1`).Scan(&n) })
	}
	b.ReportMetric(float64(bounded)/float64(direct), "ratio")
}

// TestClock: a process whose clock is two minutes ahead reads the
// database's time through Clock (within a few milliseconds here, where
// both share one host clock); with SQLite the clock is the host's.
func TestClock(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ahead := func() time.Time { return time.Now().Add(2 * time.Minute) }
		c := sqldb.NewClock(ctx, db, ahead, slog.New(slog.DiscardHandler))
		want := -2 * time.Minute
		if db.Dialect() == sqldb.SQLite {
			want = 0
		}
		if off := c.Offset(); (off - want).Abs() > 50*time.Millisecond {
			t.Fatalf("offset %s, want about %s", off, want)
		}
		if d := time.Until(c.Now()); db.Dialect() == sqldb.Postgres && d.Abs() > 50*time.Millisecond {
			t.Fatalf("Now is %s off the database's clock", d)
		}
	})
}

// TestRetriesGiveUp: a transaction that keeps meeting serialization
// failures is run MaxRetries times again, then its error is returned as
// retryable; any other error is returned at once.
func TestRetriesGiveUp(t *testing.T) {
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		for _, tc := range []struct {
			err  error
			runs int
		}{
			{sqldb.Classify(&pgconn.PgError{Code: "40001", Message: "could not serialize access"}), sqldb.MaxRetries + 1},
			{errors.New("a refusal"), 1},
		} {
			runs := 0
			err := db.InTx(context.Background(), func(*sqldb.Tx) error {
				runs++
				return tc.err
			})
			if runs != tc.runs || err == nil || sqldb.IsRetryable(err) != (tc.runs > 1) {
				t.Errorf("%v: %d runs, %v; want %d", tc.err, runs, err, tc.runs)
			}
		}
	})
}
