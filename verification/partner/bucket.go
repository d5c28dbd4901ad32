package partner

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// bucket is each partner's token bucket in the database: Burst tokens,
// refilled at Rate a second. Taking a token is one statement, atomic on
// every replica and holding the partner's row only for that statement —
// a sliding log of hits (idp/ratelimit) is a transaction of four round
// trips that every call of the partner waits for in turn.
type bucket struct {
	db          *sqldb.DB
	rate, burst float64 // tokens a second, tokens
	now         func() time.Time
}

// refill is the tokens a row holds at $3, before the burst cap; $4 is the
// rate per microsecond.
const refill = `partner_buckets.tokens + CAST($3 - partner_buckets.updated_at AS DOUBLE PRECISION) * CAST($4 AS DOUBLE PRECISION)`

// take takes a token for partner; without one it says how long until
// there is one.
func (b bucket) take(ctx context.Context, partner string) (ok bool, retryAfter time.Duration, err error) {
	now := b.now().UnixMicro()
	perMicro := b.rate / 1e6
	var left float64
	err = b.db.QueryRow(ctx, `INSERT INTO partner_buckets (partner, tokens, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (partner) DO UPDATE SET
			tokens = CASE WHEN `+refill+` > $5 THEN $5 ELSE `+refill+` END - 1,
			updated_at = $3
		WHERE `+refill+` >= 1
		RETURNING tokens`, partner, b.burst-1, now, perMicro, b.burst).Scan(&left)
	if err == nil {
		return true, 0, nil
	}
	if !errors.Is(sqldb.Classify(err), sqldb.ErrNotFound) {
		return false, 0, err
	}
	var tokens float64
	var at int64
	if err := b.db.QueryRow(ctx, `SELECT tokens, updated_at FROM partner_buckets WHERE partner = $1`, partner).Scan(&tokens, &at); err != nil {
		return false, 0, sqldb.Classify(err)
	}
	have := tokens + float64(now-at)*perMicro
	return false, time.Duration(math.Ceil((1-have)/perMicro)) * time.Microsecond, nil
}
