package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// The password lock-out of a login identifier (a phone, an e-mail, a
// SNILS as typed at sign-in, under a keyed hash the caller computes):
// after maxFailures consecutive wrong passwords for the identifier, known
// or unknown, password sign-in with it is locked for lockFor. Counting
// unknown identifiers too makes the answer the same for both: a login
// that names no account locks after as many failures, for as long. The
// account's own lock (RecordFailure) stays as a second gate that counts
// an account's failures whatever identifier named it.

// LoginLocked returns until when the identifier key is locked (the zero
// time when it is not), and whether any failure of it is counted at all,
// so that a sign-in without one need not reset anything.
func (s *Store) LoginLocked(ctx context.Context, key string) (until time.Time, counted bool, err error) {
	var us int64
	err = s.db.QueryRow(ctx, `SELECT locked_until FROM login_lockouts WHERE key_hash = $1`, key).Scan(&us)
	if errors.Is(err, sqldb.ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read login lock-out: %w", err)
	}
	if t := sqldb.Time(us); t.After(s.now()) {
		return t, true, nil
	}
	return time.Time{}, true, nil
}

// RecordLoginFailure counts a wrong password for the identifier key (of
// accountID, or "" when it names no account) and returns until when it is
// locked when this failure locked it (the zero time otherwise). Racing
// failures are counted in the database, each once: exactly one of them
// locks.
func (s *Store) RecordLoginFailure(ctx context.Context, key, accountID string, maxFailures int, lockFor time.Duration) (time.Time, error) {
	now := s.now()
	lockAt := sqldb.Micros(now.Add(lockFor))
	first, firstUntil := 1, int64(0)
	if maxFailures <= 1 {
		first, firstUntil = 0, lockAt
	}
	var acc any
	if accountID != "" {
		acc = accountID
	}
	// While locked, failures are tallied but never lock again, so that
	// "failures = 0 and locked" means this very failure locked it; a lock
	// that has run out starts the count anew.
	var failures int
	var until int64
	err := s.db.QueryRow(ctx, `INSERT INTO login_lockouts (key_hash, account_id, failures, locked_until, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (key_hash) DO UPDATE SET
			failures = CASE WHEN login_lockouts.locked_until > $5 THEN login_lockouts.failures + 1
				WHEN (CASE WHEN login_lockouts.locked_until <> 0 THEN 0 ELSE login_lockouts.failures END) + 1 >= $6 THEN 0
				ELSE (CASE WHEN login_lockouts.locked_until <> 0 THEN 0 ELSE login_lockouts.failures END) + 1 END,
			locked_until = CASE WHEN login_lockouts.locked_until > $5 THEN login_lockouts.locked_until
				WHEN (CASE WHEN login_lockouts.locked_until <> 0 THEN 0 ELSE login_lockouts.failures END) + 1 >= $6 THEN $7
				ELSE 0 END,
			account_id = COALESCE(excluded.account_id, login_lockouts.account_id),
			updated_at = $5
		RETURNING failures, locked_until`,
		key, acc, first, firstUntil, sqldb.Micros(now), maxFailures, lockAt).Scan(&failures, &until)
	if err != nil {
		return time.Time{}, fmt.Errorf("record failed sign-in: %w", err)
	}
	if failures == 0 && until > sqldb.Micros(now) {
		return sqldb.Time(until), nil
	}
	return time.Time{}, nil
}

// ResetLoginFailures forgets the failures of the identifier key after a
// correct password.
func (s *Store) ResetLoginFailures(ctx context.Context, key string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM login_lockouts WHERE key_hash = $1 AND locked_until <= $2`, key, sqldb.Micros(s.now()))
	return err
}

// clearLoginLocks lifts the lock-outs of every identifier counted for the
// account: an operator unlocked it, or its owner proved a contact.
func (s *Store) clearLoginLocks(ctx context.Context, id string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM login_lockouts WHERE account_id = $1`, id)
	return err
}

// SweepLoginLocks deletes lock-out rows neither locked nor touched for a
// day: a day without failures forgives the earlier ones.
func (s *Store) SweepLoginLocks(ctx context.Context) (int, error) {
	now := s.now()
	res, err := s.db.Exec(ctx, `DELETE FROM login_lockouts WHERE locked_until <= $1 AND updated_at < $2`,
		sqldb.Micros(now), sqldb.Micros(now.Add(-24*time.Hour)))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
