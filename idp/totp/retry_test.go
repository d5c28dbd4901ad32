package totp

import (
	"context"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestVerifyForRetry: the attempt that used a step may present its code
// again (its first answer was lost); no other attempt, and no plain
// Verify, may; an earlier step stays refused even to that attempt.
func TestVerifyForRetry(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		id, secret := enrolled(t, s, db, c)
		c.Advance(Period)

		now := code(t, secret, c.Now())
		want(t, "the code for attempt A", s.VerifyFor(ctx, id, now, "flow-A"), nil)
		want(t, "attempt A's retry", s.VerifyFor(ctx, id, now, "flow-A"), nil)
		want(t, "the code for attempt B", s.VerifyFor(ctx, id, now, "flow-B"), ErrReplayed)
		want(t, "the code without an attempt", s.Verify(ctx, id, now), ErrReplayed)
		want(t, "the code for an empty attempt", s.VerifyFor(ctx, id, now, ""), ErrReplayed)

		ahead := code(t, secret, c.Now().Add(Period))
		want(t, "a later step for attempt B", s.VerifyFor(ctx, id, ahead, "flow-B"), nil)
		want(t, "attempt A's step after a later one", s.VerifyFor(ctx, id, now, "flow-A"), ErrReplayed)
		want(t, "attempt B's retry", s.VerifyFor(ctx, id, ahead, "flow-B"), nil)
	})
}
