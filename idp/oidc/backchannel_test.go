package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
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

// logoutFixture is the provider with a job queue on its clock (not yet
// started), a site taking back-channel logouts, its client, and a citizen
// with a session in which the client got tokens (or none, for tests that
// need no session).
type logoutFixture struct {
	o         *testOP
	q         *jobs.Queue
	site      *logoutSite
	c         *client.Client
	a         *account.Account
	sessionID string
}

func newLogoutFixture(t *testing.T, db *sqldb.DB, withSession bool) *logoutFixture {
	t.Helper()
	f := &logoutFixture{site: newLogoutSite(t)}
	f.o = startOP(t, db, func(_ *Config, d *Deps) {
		var err error
		if f.q, err = jobs.New(db, jobs.Config{Logger: d.Log, Now: d.Now, PollInterval: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		d.Jobs = f.q
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = f.q.Stop(ctx)
	})
	var secret string
	f.c, secret = f.o.client(t, client.Client{BackchannelLogoutURI: f.site.srv.URL + "/bcl"})
	f.a = f.o.citizen(t)
	if withSession {
		f.o.tokens(t, f.o.signedIn(t, f.a.ID), f.c, auth{Method: client.AuthSecretBasic, Secret: secret}, "openid")
		err := f.o.DB.QueryRow(context.Background(), `SELECT session_id FROM oidc_auth_requests WHERE client_id = $1 AND done`, f.c.ID).Scan(&f.sessionID)
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// logoutJobs counts the back-channel logout jobs in the queue's table, as
// q (the database, or a transaction) sees them.
func logoutJobs(t *testing.T, q sqldb.Querier) int {
	t.Helper()
	var n int
	if err := q.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = $1`, logoutArgs{}.Kind()).Scan(&n); err != nil {
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
		f := newLogoutFixture(t, db, true)
		o, q, site, c, a, sid := f.o, f.q, f.site, f.c, f.a, f.sessionID
		site.down = true

		if err := o.P.SessionEnded(ctx, a.ID, sid); err != nil {
			t.Fatal(err)
		}
		if n := logoutJobs(t, db); n != 1 {
			t.Fatalf("%d logout jobs, want 1", n)
		}
		var args string
		// River keeps args as JSONB on SQLite: json() reads it as text.
		argsText := `CAST(args AS TEXT)`
		if db.Dialect() == sqldb.SQLite {
			argsText = `json(args)`
		}
		if err := db.QueryRow(ctx, `SELECT `+argsText+` FROM river_job WHERE kind = $1`, logoutArgs{}.Kind()).Scan(&args); err != nil {
			t.Fatal(err)
		}
		// No value is a token (a JWT has two dots) or the session's id (a
		// random sid may hold any letters: look at values, not substrings).
		var values map[string]any
		if err := json.Unmarshal([]byte(args), &values); err != nil {
			t.Fatal(err)
		}
		for k, v := range values {
			if s, _ := v.(string); strings.Count(s, ".") >= 2 || s == sid {
				t.Fatalf("the job's args carry a token or the session id in %s: %s", k, args)
			}
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
		f := newLogoutFixture(t, db, true)
		o, a, sid := f.o, f.a, f.sessionID
		boom := errors.New("the session's change failed")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := o.P.revokeSession(ctx, tx, sid); err != nil {
				return err
			}
			if err := o.P.queueSessionLogouts(ctx, tx, a.ID, sid); err != nil {
				return err
			}
			if n := logoutJobs(t, tx); n != 1 {
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

// TestLogoutOutboxAdopted: a logout an earlier release left in
// oidc_logout_outbox (a token signed then) becomes a job and is
// delivered, freshly signed, for the same account and session.
func TestLogoutOutboxAdopted(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newLogoutFixture(t, db, false)
		o, q, site, c, a := f.o, f.q, f.site, f.c, f.a
		sid := sessionSID("an-old-session")
		old, err := o.P.logoutToken(c.ID, "", a.ID, sid)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := bearer.New()
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
