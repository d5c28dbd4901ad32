package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// logoutSite is a relying party's back-channel logout endpoint that can be
// down.
type logoutSite struct {
	mu     sync.Mutex
	down   bool
	tries  int
	tokens []string
	srv    *httptest.Server
}

func newLogoutSite(t *testing.T) *logoutSite {
	s := &logoutSite{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.tries++
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		s.tokens = append(s.tokens, r.PostFormValue("logout_token"))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *logoutSite) count() (tries int, tokens []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries, append([]string(nil), s.tokens...)
}

// waitTries waits until the site has been called n times.
func (s *logoutSite) waitTries(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if tries, _ := s.count(); tries >= n {
			return
		}
		if time.Now().After(deadline) {
			tries, _ := s.count()
			t.Fatalf("the site was called %d times within 20 s, want %d", tries, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startOPWithJobs is startOP with a job queue on its clock, started, as
// `gosid serve` wires it.
func startOPWithJobs(t *testing.T, db *sqldb.DB) (*testOP, *jobs.Queue) {
	t.Helper()
	var q *jobs.Queue
	o := startOP(t, db, func(_ *Config, d *Deps) {
		var err error
		if q, err = jobs.New(db, jobs.Config{Logger: d.Log, Now: d.Now, PollInterval: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		d.Jobs = q
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return o, q
}

// sessionWithTokens signs the account in, has c get tokens in that
// session, and returns the session's id.
func sessionWithTokens(t *testing.T, o *testOP, accountID string, c *client.Client, secret string) string {
	t.Helper()
	token, s, err := o.Sessions.Create(context.Background(), accountID, []string{"pwd"}, time.Time{}, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(o.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: session.DefaultCookieName, Value: token, Path: "/"}})
	b := &browser{op: o, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	o.tokens(t, b, c, auth{Method: client.AuthSecretBasic, Secret: secret}, "openid")
	return s.ID
}

// logoutJobs counts the back-channel logout jobs in the queue's table.
func logoutJobs(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = $1`, logoutArgs{}.Kind()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantLogoutToken checks a delivered logout token's claims.
func wantLogoutToken(t *testing.T, o *testOP, token, clientID, accountID, sid string) {
	t.Helper()
	var claims struct {
		Iss, Aud, Sub, SID string
		Events             map[string]any
		Nonce              *string
	}
	if err := unverifiedClaims(token, &claims); err != nil {
		t.Fatalf("logout token: %v", err)
	}
	if _, ok := claims.Events[logoutEvent]; !ok || claims.Iss != o.URL || claims.Aud != clientID || claims.Sub != accountID || claims.SID != sid || claims.Nonce != nil {
		t.Fatalf("logout token claims: %+v", claims)
	}
}

// TestBackchannelLogoutJob: ending a session enqueues, in the revoking
// transaction, a logout job that carries no token; a site that is down
// gets a freshly signed token once the back-off has passed, exactly once.
func TestBackchannelLogoutJob(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		o, q := startOPWithJobs(t, db)
		site := newLogoutSite(t)
		site.down = true
		c, secret := o.client(t, client.Client{BackchannelLogoutURI: site.srv.URL + "/bcl"})
		a := o.citizen(t)
		sid := sessionWithTokens(t, o, a.ID, c, secret)

		if err := o.P.SessionEnded(ctx, a.ID, sid); err != nil {
			t.Fatal(err)
		}
		if n := logoutJobs(t, db); n != 1 {
			t.Fatalf("%d logout jobs, want 1", n)
		}
		var args string
		if err := db.QueryRow(ctx, `SELECT CAST(args AS TEXT) FROM river_job WHERE kind = $1`, logoutArgs{}.Kind()).Scan(&args); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(args, "ey") || strings.Contains(args, sid) {
			t.Fatalf("the job's args carry a token or the session id: %s", args)
		}

		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		site.waitTries(t, 1)
		time.Sleep(500 * time.Millisecond)
		if tries, got := site.count(); tries != 1 || len(got) != 0 {
			t.Fatalf("before the back-off: %d tries, %d tokens", tries, len(got))
		}
		site.mu.Lock()
		site.down = false
		site.mu.Unlock()
		o.Clock.Advance(30 * time.Second) // past the first back-off (20 s)
		site.waitTries(t, 2)
		time.Sleep(500 * time.Millisecond)
		tries, got := site.count()
		if tries != 2 || len(got) != 1 {
			t.Fatalf("after the back-off: %d tries, %d tokens", tries, len(got))
		}
		wantLogoutToken(t, o, got[0], c.ID, a.ID, sessionSID(sid))
	})
}

// TestLogoutRollsBackWithTheChange: a logout enqueued in a transaction that
// then fails is not enqueued at all.
func TestLogoutRollsBackWithTheChange(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		o, _ := startOPWithJobs(t, db)
		site := newLogoutSite(t)
		c, secret := o.client(t, client.Client{BackchannelLogoutURI: site.srv.URL + "/bcl"})
		a := o.citizen(t)
		sid := sessionWithTokens(t, o, a.ID, c, secret)
		boom := errors.New("the session's change failed")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := o.P.revokeSession(ctx, tx, sid); err != nil {
				return err
			}
			if err := o.P.queueSessionLogouts(ctx, tx, a.ID, sid); err != nil {
				return err
			}
			if n := logoutJobsIn(t, tx); n != 1 {
				t.Errorf("inside the transaction: %d logout jobs, want 1", n)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if n := logoutJobs(t, db); n != 0 {
			t.Fatalf("%d logout jobs after the rollback", n)
		}
	})
}

func logoutJobsIn(t *testing.T, q sqldb.Querier) int {
	t.Helper()
	var n int
	if err := q.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = $1`, logoutArgs{}.Kind()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLogoutOutboxAdopted: a logout an earlier release left in
// oidc_logout_outbox (a token signed then) becomes a job and is
// delivered, freshly signed, for the same account and session.
func TestLogoutOutboxAdopted(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		o, q := startOPWithJobs(t, db)
		site := newLogoutSite(t)
		c, _ := o.client(t, client.Client{BackchannelLogoutURI: site.srv.URL + "/bcl"})
		a := o.citizen(t)
		sid := sessionSID("an-old-session")
		old, err := o.P.logoutToken(c.ID, "", a.ID, sid)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := keys.NewToken()
		now := sqldb.Micros(o.Clock.Now())
		if _, err := db.Exec(ctx, `INSERT INTO oidc_logout_outbox (id, client_id, uri, token, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			id[:22], c.ID, site.srv.URL+"/bcl", old, now); err != nil {
			t.Fatal(err)
		}
		if n, err := o.P.adoptOutbox(ctx); err != nil || n != 1 {
			t.Fatalf("adopted %d (%v), want 1", n, err)
		}
		var left int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM oidc_logout_outbox`).Scan(&left); err != nil || left != 0 {
			t.Fatalf("%d rows left in the outbox (%v)", left, err)
		}
		if n, err := o.P.adoptOutbox(ctx); err != nil || n != 0 {
			t.Fatalf("adopted %d again (%v)", n, err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		site.waitTries(t, 1)
		time.Sleep(500 * time.Millisecond)
		_, got := site.count()
		if len(got) != 1 || got[0] == old {
			t.Fatalf("delivered %d tokens (the stored one: %v)", len(got), len(got) == 1 && got[0] == old)
		}
		wantLogoutToken(t, o, got[0], c.ID, a.ID, sid)
	})
}
