package partner

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// answer is a stored answer to a partner request.
type answer struct {
	Status int
	Body   []byte
	// location is the Location header of a 201.
	location string
	// stored: the work's own transaction stored it (finish).
	stored bool
}

// staleAfter: a pending idempotency row this old belongs to a request
// whose replica died; another request with the key may take it over.
const staleAfter = 2 * time.Minute

// claim inserts the idempotency row of (partner, key) and reports whether
// this request owns it: it then does the work and calls finish (or
// release). Otherwise the row is someone else's: replay its answer
// (ErrKeyReused when it was made for another body), or wait while it is
// pending.
func (h *Handler) claim(ctx context.Context, partner, key string, hash []byte) (owner bool, err error) {
	now := sqldb.Micros(h.now())
	res, err := h.db.Exec(ctx, `INSERT INTO partner_requests (partner, idem_key, body_hash, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (partner, idem_key) DO NOTHING`, partner, key, hash, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

var (
	errKeyReused  = errors.New("partner: idempotency key reused with another body")
	errInProgress = errors.New("partner: the first request with this key is still being worked")
)

// await returns the answer stored for (partner, key), waiting up to wait
// while the first request is still being worked; it takes over (owner)
// a pending row left by a request that died.
func (h *Handler) await(ctx context.Context, partner, key string, hash []byte, wait time.Duration) (a *answer, owner bool, err error) {
	deadline := time.Now().Add(wait)
	delay := 5 * time.Millisecond
	for {
		var (
			stored  []byte
			status  int
			body    string
			loc     string
			created int64
		)
		err := h.db.QueryRow(ctx, `SELECT body_hash, status, response, location, created_at FROM partner_requests WHERE partner = $1 AND idem_key = $2`,
			partner, key).Scan(&stored, &status, &body, &loc, &created)
		if errors.Is(err, sqldb.ErrNotFound) {
			// Released by a request that failed: try to own it.
			owner, err := h.claim(ctx, partner, key, hash)
			if err != nil || owner {
				return nil, owner, err
			}
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if !bytes.Equal(stored, hash) {
			return nil, false, errKeyReused
		}
		if status != 0 {
			return &answer{Status: status, Body: []byte(body), location: loc}, false, nil
		}
		if h.now().Sub(sqldb.Time(created)) > staleAfter {
			res, err := h.db.Exec(ctx, `UPDATE partner_requests SET created_at = $3 WHERE partner = $1 AND idem_key = $2 AND status = 0 AND created_at = $4`,
				partner, key, sqldb.Micros(h.now()), created)
			if err != nil {
				return nil, false, err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				return nil, true, nil
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, false, errInProgress
		}
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// finish stores the answer of the request that owns (partner, key), in q
// (the transaction of the work it answers, when there is one).
func finish(ctx context.Context, q sqldb.Querier, partner, key string, a answer) error {
	_, err := q.Exec(ctx, `UPDATE partner_requests SET status = $3, response = $4, location = $5 WHERE partner = $1 AND idem_key = $2`,
		partner, key, a.Status, string(a.Body), a.location)
	return err
}

// release forgets a pending row whose request failed before answering
// (the database, a bug): a retry with the key starts afresh.
func (h *Handler) release(ctx context.Context, partner, key string) {
	if _, err := h.db.Exec(context.WithoutCancel(ctx), `DELETE FROM partner_requests WHERE partner = $1 AND idem_key = $2 AND status = 0`,
		partner, key); err != nil {
		h.log.ErrorContext(ctx, "partner: releasing an idempotency key", "err", err)
	}
}

// Sweep deletes idempotency rows older than a day: a bank retries within
// minutes; a key reused after a day is a new request.
func (h *Handler) Sweep(ctx context.Context) (int, error) {
	res, err := h.db.Exec(ctx, `DELETE FROM partner_requests WHERE created_at < $1`, sqldb.Micros(h.now().Add(-24*time.Hour)))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
