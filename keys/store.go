package keys

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// The SQL of tables data_keys and signing_keys; nothing else touches them.

// dataKeyRow is one row of data_keys.
type dataKeyRow struct {
	id          string
	seq         int
	masterKeyID string
	wrapped     []byte
}

func selectDataKeys(ctx context.Context, q sqldb.Querier) ([]dataKeyRow, error) {
	rows, err := q.Query(ctx, `SELECT id, seq, master_key_id, wrapped FROM data_keys ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("read data keys: %w", err)
	}
	defer rows.Close()
	var out []dataKeyRow
	for rows.Next() {
		var r dataKeyRow
		if err := rows.Scan(&r.id, &r.seq, &r.masterKeyID, &r.wrapped); err != nil {
			return nil, fmt.Errorf("read data keys: %w", sqldb.Classify(err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read data keys: %w", sqldb.Classify(err))
	}
	return out, nil
}

func insertDataKey(ctx context.Context, q sqldb.Querier, r dataKeyRow, created time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO data_keys (id, seq, master_key_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)`,
		r.id, r.seq, r.masterKeyID, r.wrapped, sqldb.Micros(created))
	return err
}

// rewrapDataKey replaces a data key's wrapping if it is still under
// oldMaster (compare-and-swap); it reports whether it did.
func rewrapDataKey(ctx context.Context, q sqldb.Querier, id, oldMaster, newMaster string, wrapped []byte) (bool, error) {
	res, err := q.Exec(ctx, `UPDATE data_keys SET master_key_id = $1, wrapped = $2 WHERE id = $3 AND master_key_id = $4`,
		newMaster, wrapped, id, oldMaster)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// selectKeys reads every signing key, sorted by alg and seq.
func selectKeys(ctx context.Context, q sqldb.Querier) ([]keyRow, error) {
	rows, err := q.Query(ctx, `SELECT kid, alg, seq, public_der, private_enc, data_key_id, created_at, signs_from, withdrawn_at
		FROM signing_keys ORDER BY alg, seq`)
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	defer rows.Close()
	var out []keyRow
	for rows.Next() {
		var (
			r                  keyRow
			created, signsFrom int64
			withdrawn          sql.NullInt64
		)
		if err := rows.Scan(&r.kid, &r.alg, &r.seq, &r.publicDER, &r.privateEnc, &r.dataKeyID, &created, &signsFrom, &withdrawn); err != nil {
			return nil, fmt.Errorf("read signing keys: %w", sqldb.Classify(err))
		}
		r.created, r.signsFrom = sqldb.Time(created), sqldb.Time(signsFrom)
		if withdrawn.Valid {
			r.withdrawn = sqldb.Time(withdrawn.Int64)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read signing keys: %w", sqldb.Classify(err))
	}
	return out, nil
}

// maxSeq returns the highest seq of alg, 0 when it has no key.
func maxSeq(ctx context.Context, q sqldb.Querier, alg string) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM signing_keys WHERE alg = $1`, alg).Scan(&n); err != nil {
		return 0, fmt.Errorf("read %s key sequence: %w", alg, err)
	}
	return n, nil
}

// insertKey adds a signing key; a taken (alg, seq) yields sqldb.ErrConflict.
func insertKey(ctx context.Context, q sqldb.Querier, k sealedKey, seq int, created, signsFrom time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO signing_keys (kid, alg, seq, public_der, private_enc, data_key_id, created_at, signs_from)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.kid, k.alg, seq, k.publicDER, k.privateEnc, k.dataKeyID, sqldb.Micros(created), sqldb.Micros(signsFrom))
	return err
}

// withdrawBefore withdraws every key of alg below seq and erases their
// private parts.
func withdrawBefore(ctx context.Context, q sqldb.Querier, alg string, seq int, at time.Time) error {
	_, err := q.Exec(ctx, `UPDATE signing_keys SET withdrawn_at = $1, private_enc = NULL
		WHERE alg = $2 AND seq < $3 AND withdrawn_at IS NULL`, sqldb.Micros(at), alg, seq)
	return err
}

// erasePrivate sets a key's private part to NULL; erasing twice is harmless.
func erasePrivate(ctx context.Context, q sqldb.Querier, kid string) (bool, error) {
	res, err := q.Exec(ctx, `UPDATE signing_keys SET private_enc = NULL WHERE kid = $1 AND private_enc IS NOT NULL`, kid)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
