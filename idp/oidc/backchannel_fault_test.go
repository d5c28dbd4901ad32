package oidc

import (
	"context"
	"errors"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// unreachableClients fails every read, as an exhausted pool or a database
// gone for a moment does.
type unreachableClients struct{ Clients }

func (unreachableClients) Get(context.Context, string) (*client.Client, error) {
	return nil, errors.New("database pool: overloaded")
}

// TestSessionEndedClientUnreadable: when the client cannot be read, the
// session's end fails as a whole (the sign-out answers 503 and is
// retried) instead of skipping the logout silently; the retry enqueues
// it. The soak's pool-exhausted scenario lost back-channel logouts so.
func TestSessionEndedClientUnreadable(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newLogoutFixture(t, db, true)
		o, a, sid := f.o, f.a, f.sessionID
		clients := o.P.deps.Clients
		o.P.deps.Clients = unreachableClients{clients}
		if err := o.P.SessionEnded(ctx, a.ID, sid); err == nil {
			t.Fatal("the session ended with its client unreadable, its logout skipped")
		}
		if n := logoutJobs(t, db); n != 0 {
			t.Fatalf("%d logout jobs after a failed end", n)
		}
		o.P.deps.Clients = clients
		if err := o.P.SessionEnded(ctx, a.ID, sid); err != nil {
			t.Fatal(err)
		}
		if n := logoutJobs(t, db); n != 1 {
			t.Fatalf("%d logout jobs after the retry, want 1", n)
		}
	})
}

// TestSessionEndedTwice: a sign-out retried after SessionEnded committed
// (the session's own end failed) enqueues no second logout, and racing
// calls enqueue one between them.
func TestSessionEndedTwice(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newLogoutFixture(t, db, true)
		o, a, sid := f.o, f.a, f.sessionID
		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- o.P.SessionEnded(ctx, a.ID, sid) }()
		}
		for range 3 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if err := o.P.SessionEnded(ctx, a.ID, sid); err != nil {
			t.Fatal(err)
		}
		if n := logoutJobs(t, db); n != 1 {
			t.Fatalf("%d logout jobs after a session ended four times, want 1", n)
		}
	})
}
