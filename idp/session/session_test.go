package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

type clock = sqldbtest.Clock

func newClock() *clock { return sqldbtest.NewClock(time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)) }

// replicas runs fn on both dialects with two handles on one database, as
// two replicas would have.
func replicas(t *testing.T, fn func(t *testing.T, a, b *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		p := sqldbtest.SQLitePath(t)
		fn(t, open(t, sqldb.Config{SQLitePath: p}), open(t, sqldb.Config{SQLitePath: p}))
	})
	t.Run("postgres", func(t *testing.T) {
		u := sqldbtest.PostgresURL(t)
		fn(t, open(t, sqldb.Config{URL: u}), open(t, sqldb.Config{URL: u}))
	})
}

func open(t testing.TB, cfg sqldb.Config) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newAccount inserts the minimal accounts row that sessions refer to.
func newAccount(t testing.TB, db *sqldb.DB) string {
	t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	_, err := db.Exec(context.Background(), `INSERT INTO accounts (id, family_name, given_name, created_at, updated_at)
		VALUES ($1, 'Иванов', 'Иван', 1, 1)`, id)
	if err != nil {
		t.Fatalf("insert account: %v", err)
	}
	return id
}

func newStore(db *sqldb.DB, c *clock) *session.Store {
	return session.NewStore(db, session.Config{Now: c.Now})
}

type row struct {
	lastSeen, idleUntil int64
	ended               bool
}

func readRow(t *testing.T, db *sqldb.DB, id string) row {
	t.Helper()
	var r row
	var ended *int64
	err := db.QueryRow(context.Background(), `SELECT last_seen_at, idle_until, ended_at FROM sessions WHERE id = $1`, id).
		Scan(&r.lastSeen, &r.idleUntil, &ended)
	if err != nil {
		t.Fatalf("read session row: %v", err)
	}
	r.ended = ended != nil
	return r
}

func TestCreateLookup(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		s := newStore(db, c)
		acc := newAccount(t, db)
		authTime := c.Now().Add(-time.Second)
		token, created, err := s.Create(ctx, acc, []string{"pwd", "sms"}, authTime, "203.0.113.7", "Firefox")
		if err != nil {
			t.Fatal(err)
		}
		if len(token) != 43 || strings.Contains(token, created.ID) || created.ID == "" {
			t.Fatalf("token %d chars, id %q", len(token), created.ID)
		}
		if !created.ExpiresAt.Equal(c.Now().Add(12*time.Hour)) || !created.IdleUntil.Equal(c.Now().Add(30*time.Minute)) {
			t.Fatalf("expires %v idle %v", created.ExpiresAt, created.IdleUntil)
		}
		got, err := s.Lookup(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != created.ID || got.AccountID != acc || strings.Join(got.AMR, " ") != "pwd sms" ||
			!got.AuthTime.Equal(authTime) || got.IP != "203.0.113.7" || got.UserAgent != "Firefox" ||
			!got.CreatedAt.Equal(created.CreatedAt) || !got.ExpiresAt.Equal(created.ExpiresAt) {
			t.Fatalf("lookup %+v, created %+v", got, created)
		}
		// Only the hash is stored.
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE token_hash = $1`, []byte(token)).Scan(&n); err != nil || n != 0 {
			t.Fatalf("token stored in clear? n=%d err=%v", n, err)
		}
	})
}

func TestUnknownToken(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newStore(db, newClock())
		if _, _, err := s.Create(ctx, newAccount(t, db), []string{"pwd"}, time.Time{}, "", ""); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{"", "short", strings.Repeat("A", 43), strings.Repeat("*", 43), strings.Repeat("A", 44)} {
			if _, err := s.Lookup(ctx, tok); !errors.Is(err, sqldb.ErrNotFound) {
				t.Errorf("Lookup(%q) = %v, want ErrNotFound", tok, err)
			}
		}
	})
}

func TestIdleExpiryAndSliding(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		s := newStore(db, c)
		token, sess, err := s.Create(ctx, newAccount(t, db), []string{"pwd"}, time.Time{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		before := readRow(t, db, sess.ID)

		// Within TouchEvery: nothing is written.
		c.Advance(59 * time.Second)
		if _, err := s.Lookup(ctx, token); err != nil {
			t.Fatal(err)
		}
		if after := readRow(t, db, sess.ID); after != before {
			t.Fatalf("lookup within TouchEvery wrote the row: %+v → %+v", before, after)
		}

		// After TouchEvery: the idle deadline slides; Idle says how long
		// the session lay unused before (from the last write).
		c.Advance(20 * time.Minute)
		got, err := s.Lookup(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if want := 20*time.Minute + 59*time.Second; got.Idle != want {
			t.Errorf("Idle %v, want %v", got.Idle, want)
		}
		want := c.Now().Add(30 * time.Minute)
		if !got.IdleUntil.Equal(want) {
			t.Fatalf("IdleUntil %v, want %v", got.IdleUntil, want)
		}
		if r := readRow(t, db, sess.ID); r.idleUntil != sqldb.Micros(want) || r.lastSeen != sqldb.Micros(c.Now()) {
			t.Fatalf("row after touch %+v", r)
		}

		// 29 minutes later still alive (more than 30 since creation).
		c.Advance(29 * time.Minute)
		if _, err := s.Lookup(ctx, token); err != nil {
			t.Fatalf("after 29 idle minutes: %v", err)
		}
		// Then 30 idle minutes: expired.
		c.Advance(30 * time.Minute)
		if _, err := s.Lookup(ctx, token); !errors.Is(err, sqldb.ErrExpired) {
			t.Fatalf("after 30 idle minutes: %v, want ErrExpired", err)
		}
	})
}

func TestAbsoluteExpiry(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		s := newStore(db, c)
		token, sess, err := s.Create(ctx, newAccount(t, db), []string{"pwd"}, time.Time{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		// Busy all day: every 20 minutes.
		for c.Now().Add(20 * time.Minute).Before(sess.ExpiresAt) {
			c.Advance(20 * time.Minute)
			got, err := s.Lookup(ctx, token)
			if err != nil {
				t.Fatalf("at %v: %v", c.Now(), err)
			}
			if got.IdleUntil.After(got.ExpiresAt) {
				t.Fatalf("IdleUntil %v beyond ExpiresAt %v", got.IdleUntil, got.ExpiresAt)
			}
		}
		c.Advance(sess.ExpiresAt.Sub(c.Now()))
		if _, err := s.Lookup(ctx, token); !errors.Is(err, sqldb.ErrExpired) {
			t.Fatalf("at absolute end: %v, want ErrExpired", err)
		}
	})
}

func TestEndOnOtherReplica(t *testing.T) {
	replicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		sa, sb := newStore(a, c), newStore(b, c)
		token, sess, err := sa.Create(ctx, newAccount(t, a), []string{"pwd"}, time.Time{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sb.Lookup(ctx, token); err != nil {
			t.Fatalf("replica b: %v", err)
		}
		if err := sa.End(ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := sb.Lookup(ctx, token); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("replica b after End on a: %v, want ErrNotFound", err)
		}
		if err := sb.End(ctx, sess.ID); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("second End: %v, want ErrNotFound", err)
		}
		// Touching must not revive an ended session.
		c.Advance(time.Hour)
		if _, err := sa.Lookup(ctx, token); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("later: %v", err)
		}
	})
}

func TestEndAllAndList(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		s := newStore(db, c)
		acc, other := newAccount(t, db), newAccount(t, db)
		var tokens []string
		var ids []string
		for i := range 4 {
			tok, sess, err := s.Create(ctx, acc, []string{"pwd"}, time.Time{}, "", fmt.Sprint("browser ", i))
			if err != nil {
				t.Fatal(err)
			}
			tokens, ids = append(tokens, tok), append(ids, sess.ID)
			c.Advance(time.Minute)
		}
		otherTok, _, err := s.Create(ctx, other, []string{"pwd"}, time.Time{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		// Session 0 goes idle; keep the others alive.
		c.Advance(26 * time.Minute)
		for _, tok := range tokens[1:] {
			if _, err := s.Lookup(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		c.Advance(2 * time.Minute)

		list, err := s.List(ctx, acc)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range list {
			got = append(got, x.ID)
		}
		if want := []string{ids[3], ids[2], ids[1]}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("List = %v, want newest first %v", got, want)
		}

		if err := s.EndForAccount(ctx, other, ids[1]); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("ending another account's session: %v", err)
		}
		n, err := s.EndAll(ctx, acc, ids[3])
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("EndAll ended %d live sessions, want 2", n)
		}
		for i, tok := range tokens {
			_, err := s.Lookup(ctx, tok)
			if i == 3 && err != nil {
				t.Fatalf("kept session: %v", err)
			}
			if i < 3 && !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("session %d after EndAll: %v", i, err)
			}
		}
		if _, err := s.Lookup(ctx, otherTok); err != nil {
			t.Fatalf("other account's session: %v", err)
		}
		if list, _ := s.List(ctx, acc); len(list) != 1 || list[0].ID != ids[3] {
			t.Fatalf("List after EndAll: %+v", list)
		}

		// EndEach names every session it ended, the idle one too: tokens
		// issued in a session outlive its idle timeout.
		for range 2 {
			if _, _, err := s.Create(ctx, other, []string{"pwd"}, time.Time{}, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		c.Advance(31 * time.Minute) // all of other's sessions idle
		keep, _, err := s.Create(ctx, other, []string{"pwd"}, time.Time{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		keepSess, _ := s.Lookup(ctx, keep)
		ended, live, err := s.EndEach(ctx, other, keepSess.ID)
		if err != nil || len(ended) != 3 || live != 0 || slices.Contains(ended, keepSess.ID) {
			t.Fatalf("EndEach = %v, %d live, %v; want the 3 idle sessions, none live", ended, live, err)
		}
		if ended, _, err := s.EndEach(ctx, other, keepSess.ID); err != nil || len(ended) != 0 {
			t.Fatalf("EndEach again = %v, %v; want nothing left to end", ended, err)
		}
	})
}

func TestAddAuthentication(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		s := newStore(db, c)
		token, sess, err := s.Create(ctx, newAccount(t, db), []string{"pwd"}, time.Time{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(5 * time.Minute)
		if err := s.AddAuthentication(ctx, sess.ID, []string{"otp", "pwd"}, c.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := s.Lookup(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got.AMR, " ") != "pwd otp" || !got.AuthTime.Equal(c.Now()) {
			t.Fatalf("after step-up: amr %v auth_time %v", got.AMR, got.AuthTime)
		}
		if err := s.End(ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.AddAuthentication(ctx, sess.ID, []string{"hwk"}, time.Time{}); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("step-up of ended session: %v", err)
		}
	})
}

func TestSweep(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		s := newStore(db, c)
		acc := newAccount(t, db)
		_, ended, _ := s.Create(ctx, acc, nil, time.Time{}, "", "")
		oldTok, _, _ := s.Create(ctx, acc, nil, time.Time{}, "", "")
		if err := s.End(ctx, ended.ID); err != nil {
			t.Fatal(err)
		}
		c.Advance(13 * time.Hour)
		liveTok, _, _ := s.Create(ctx, acc, nil, time.Time{}, "", "")
		if n, err := s.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("early Sweep = %d, %v; want 0 (retention)", n, err)
		}
		if _, err := s.Lookup(ctx, oldTok); !errors.Is(err, sqldb.ErrExpired) {
			t.Fatalf("expired but kept: %v", err)
		}
		c.Advance(24 * time.Hour)
		if n, err := s.Sweep(ctx); err != nil || n != 2 {
			t.Fatalf("Sweep = %d, %v; want 2", n, err)
		}
		if _, err := s.Lookup(ctx, oldTok); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("swept: %v", err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("rows left %d (%v), want 1", n, err)
		}
		_ = liveTok
	})
}

func TestConcurrentLookupsTwoReplicas(t *testing.T) {
	replicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		stores := []*session.Store{newStore(a, c), newStore(b, c)}
		token, _, err := stores[0].Create(ctx, newAccount(t, a), []string{"pwd"}, time.Time{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		for round := range 5 {
			c.Advance(2 * time.Minute) // every round has to touch
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for i := range 16 {
				wg.Go(func() {
					if _, err := stores[i%2].Lookup(ctx, token); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	})
}

func TestStartReplacesPreviousSession(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock()
		s := newStore(db, c)
		acc := newAccount(t, db)

		// An attacker's session whose cookie was planted in the browser.
		planted, plantedSess, err := s.Create(context.Background(), newAccount(t, db), []string{"pwd"}, time.Time{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/login", nil)
		r.AddCookie(&http.Cookie{Name: "gosid_session", Value: planted})
		w := httptest.NewRecorder()
		sess, err := s.Start(w, r, acc, []string{"pwd"}, "198.51.100.1")
		if err != nil {
			t.Fatal(err)
		}
		if readRow(t, db, plantedSess.ID).ended != true {
			t.Fatal("the previous cookie's session was not ended")
		}
		cookies := w.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Value == planted {
			t.Fatalf("cookies %+v", cookies)
		}
		r2 := httptest.NewRequest("GET", "/", nil)
		r2.AddCookie(cookies[0])
		cur, err := s.Current(r2)
		if err != nil || cur.ID != sess.ID || cur.AccountID != acc {
			t.Fatalf("Current = %+v, %v", cur, err)
		}

		// Sign out: ended, cookie expired.
		w = httptest.NewRecorder()
		if err := s.SignOut(w, r2); err != nil {
			t.Fatal(err)
		}
		if out := w.Result().Cookies(); len(out) != 1 || out[0].MaxAge >= 0 || out[0].Value != "" {
			t.Fatalf("sign-out cookie %+v", w.Result().Cookies())
		}
		if _, err := s.Current(r2); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("after SignOut: %v", err)
		}
		if _, err := s.Current(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("no cookie: %v", err)
		}
	})
}

func TestCookieAttributes(t *testing.T) {
	db := sqldbtest.SQLite(t)
	for _, secure := range []bool{false, true} {
		c := newClock()
		s := session.NewStore(db, session.Config{Now: c.Now, Secure: secure, Lifetime: 8 * time.Hour})
		w := httptest.NewRecorder()
		sess, err := s.Start(w, httptest.NewRequest("POST", "/login", nil), newAccount(t, db), []string{"pwd"}, "")
		if err != nil {
			t.Fatal(err)
		}
		header := w.Header().Get("Set-Cookie")
		for _, want := range []string{"gosid_session=", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=28800",
			"Expires=" + sess.ExpiresAt.Format(http.TimeFormat)} {
			if !strings.Contains(header, want) {
				t.Errorf("Set-Cookie %q lacks %q", header, want)
			}
		}
		if strings.Contains(header, "Secure") != secure {
			t.Errorf("secure=%v: Set-Cookie %q", secure, header)
		}
		if !sess.ExpiresAt.Equal(c.Now().Add(8 * time.Hour)) {
			t.Errorf("ExpiresAt %v", sess.ExpiresAt)
		}
	}
}

// TestHostPrefixUnderTLS: served over HTTPS the session cookie is
// __Host-gosid_session (Secure, Path=/, no Domain), which browsers take only
// from this host over HTTPS; the store reads that name back and ignores a
// plain gosid_session cookie, which a sibling subdomain could have planted.
func TestHostPrefixUnderTLS(t *testing.T) {
	db := sqldbtest.SQLite(t)
	for _, tc := range []struct {
		secure      bool
		name, other string
	}{{false, "gosid_session", "__Host-gosid_session"}, {true, "__Host-gosid_session", "gosid_session"}} {
		s := session.NewStore(db, session.Config{Now: newClock().Now, Secure: tc.secure})
		w := httptest.NewRecorder()
		sess, err := s.Start(w, httptest.NewRequest("POST", "/login", nil), newAccount(t, db), []string{"pwd"}, "")
		if err != nil {
			t.Fatal(err)
		}
		cookies := w.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Name != tc.name || cookies[0].Path != "/" || cookies[0].Domain != "" || cookies[0].Secure != tc.secure {
			t.Fatalf("secure=%v: Set-Cookie %q, want %s with Path=/, no Domain, Secure=%v", tc.secure, w.Header().Get("Set-Cookie"), tc.name, tc.secure)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(cookies[0])
		if cur, err := s.Current(r); err != nil || cur.ID != sess.ID {
			t.Fatalf("secure=%v: Current by %s = %+v, %v", tc.secure, tc.name, cur, err)
		}
		r = httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: tc.other, Value: cookies[0].Value})
		if _, err := s.Current(r); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("secure=%v: a cookie named %s was read: %v", tc.secure, tc.other, err)
		}
		w = httptest.NewRecorder()
		if err := s.SignOut(w, r); err != nil {
			t.Fatal(err)
		}
		if out := w.Result().Cookies(); len(out) != 1 || out[0].Name != tc.name || out[0].MaxAge >= 0 {
			t.Fatalf("secure=%v: sign-out expires %+v, want %s", tc.secure, out, tc.name)
		}
	}
}

func TestLogValueHasNoSecrets(t *testing.T) {
	db := sqldbtest.SQLite(t)
	s := newStore(db, newClock())
	token, sess, err := s.Create(context.Background(), newAccount(t, db), []string{"pwd"}, time.Time{}, "203.0.113.9", "UA")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("signed in", "session", sess)
	if strings.Contains(buf.String(), token) || strings.Contains(buf.String(), "203.0.113.9") || !strings.Contains(buf.String(), sess.ID) {
		t.Fatalf("log line %s", buf.String())
	}
}

func TestContext(t *testing.T) {
	if _, ok := session.FromContext(context.Background()); ok {
		t.Fatal("empty context has a session")
	}
	sess := &session.Session{ID: "x"}
	if got, ok := session.FromContext(session.WithSession(context.Background(), sess)); !ok || got != sess {
		t.Fatal("round trip")
	}
}

func BenchmarkLookup(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *sqldb.DB
			if dialect == "sqlite" {
				db = sqldbtest.SQLite(b)
			} else {
				db = sqldbtest.Postgres(b)
			}
			c := newClock()
			// A lifetime long enough for the touch case's advancing clock.
			s := session.NewStore(db, session.Config{Now: c.Now, Lifetime: 10 * 365 * 24 * time.Hour})
			token, _, err := s.Create(context.Background(), newAccount(b, db), []string{"pwd"}, time.Time{}, "", "")
			if err != nil {
				b.Fatal(err)
			}
			b.Run("read", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.Lookup(context.Background(), token); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
			})
			// Every lookup slides the idle deadline: the worst case,
			// which TouchEvery keeps rare in practice.
			b.Run("touch", func(b *testing.B) {
				for b.Loop() {
					c.Advance(time.Minute)
					if _, err := s.Lookup(context.Background(), token); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
			})
		})
	}
}

// TestOwnIdleTimeout: a session given the citizen's own idle timeout slides
// by it, not by the configured default, and ends when it runs out.
func TestOwnIdleTimeout(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		s := newStore(db, c) // default idle 30 min
		token, sess, err := s.Create(ctx, newAccount(t, db), []string{"pwd"}, time.Time{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetIdleTimeout(ctx, sess.ID, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		c.Advance(9 * time.Minute)
		got, err := s.Lookup(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if got.IdleTimeout != 10*time.Minute || !got.IdleUntil.Equal(c.Now().UTC().Truncate(time.Microsecond).Add(10*time.Minute)) {
			t.Errorf("after use: idle timeout %v, idle until %v", got.IdleTimeout, got.IdleUntil)
		}
		c.Advance(11 * time.Minute)
		if _, err := s.Lookup(ctx, token); !errors.Is(err, sqldb.ErrExpired) {
			t.Errorf("11 minutes idle with a 10-minute timeout: %v, want ErrExpired", err)
		}
		if err := s.SetIdleTimeout(ctx, "no-such-session", time.Minute); !errors.Is(err, sqldb.ErrNotFound) {
			t.Errorf("unknown session: %v", err)
		}
	})
}

// TestStartedHearsTheLanguage: every sign-in tells Config.Started the
// account and the request's language (the account keeps it for notices).
func TestStartedHearsTheLanguage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock()
		var heard []string
		s := session.NewStore(db, session.Config{Now: c.Now, Started: func(_ context.Context, accountID, lang string) {
			heard = append(heard, accountID+" "+lang)
		}})
		acc := newAccount(t, db)
		for _, accept := range []string{"en-GB,en;q=0.9", "ru-RU"} {
			r := httptest.NewRequest("POST", "/login", nil)
			r.Header.Set("Accept-Language", accept)
			if _, err := s.Start(httptest.NewRecorder(), r, acc, []string{"pwd"}, ""); err != nil {
				t.Fatal(err)
			}
		}
		if want := []string{acc + " en", acc + " ru"}; !slices.Equal(heard, want) {
			t.Errorf("Started heard %q, want %q", heard, want)
		}
	})
}
