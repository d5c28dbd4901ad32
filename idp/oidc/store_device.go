package oidc

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Device authorization (RFC 8628) rows: a device code (kept as its hash)
// and the user code the citizen types, pending until the citizen approves
// or denies it, then used once.

// deviceCode is a stored device authorization.
type deviceCode struct {
	ClientID string
	Scopes   []string
	// State is pending, approved, denied or used.
	State     string
	AccountID string
	AMR       []string
	AuthTime  time.Time
	ExpiresAt time.Time
}

// addDeviceCode stores a new device authorization; a user code already
// in use is sqldb.ErrConflict.
func (s *store) addDeviceCode(ctx context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO oidc_device_codes (device_hash, user_code, client_id, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		sha256Sum(deviceCode), normUserCode(userCode), clientID, strings.Join(scopes, " "), sqldb.Micros(s.now()), sqldb.Micros(expires))
	return err
}

// deviceCode reads a device authorization by its device code.
func (s *store) deviceCode(ctx context.Context, code string) (*deviceCode, error) {
	var (
		d            deviceCode
		scopes       string
		account, amr sql.NullString
		authTime     sql.NullInt64
		expires      int64
	)
	err := s.db.QueryRow(ctx, `SELECT client_id, scopes, state, account_id, amr, auth_time, expires_at FROM oidc_device_codes WHERE device_hash = $1`,
		sha256Sum(code)).Scan(&d.ClientID, &scopes, &d.State, &account, &amr, &authTime, &expires)
	if err != nil {
		return nil, err
	}
	d.Scopes, d.AccountID, d.AMR = splitList(scopes), account.String, splitList(amr.String)
	d.AuthTime, d.ExpiresAt = sqldb.Time(authTime.Int64), sqldb.Time(expires)
	return &d, nil
}

// useDeviceCode marks an approved device code used: of racing polls
// exactly one succeeds; the others get sqldb.ErrConflict.
func (s *store) useDeviceCode(ctx context.Context, code string) error {
	res, err := s.db.Exec(ctx, `UPDATE oidc_device_codes SET state = 'used' WHERE device_hash = $1 AND state = 'approved'`, sha256Sum(code))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("device code not approved: %w", sqldb.ErrConflict)
	}
	return nil
}

// pendingDeviceCode finds a pending, unexpired device authorization by
// its user code.
func (s *store) pendingDeviceCode(ctx context.Context, userCode string) (*deviceCode, error) {
	var sc string
	var expires int64
	d := deviceCode{State: "pending"}
	err := s.db.QueryRow(ctx, `SELECT client_id, scopes, expires_at FROM oidc_device_codes WHERE user_code = $1 AND state = 'pending'`,
		normUserCode(userCode)).Scan(&d.ClientID, &sc, &expires)
	if err != nil {
		return nil, err
	}
	d.Scopes, d.ExpiresAt = splitList(sc), sqldb.Time(expires)
	if !d.ExpiresAt.After(s.now()) {
		return nil, fmt.Errorf("device code: %w", sqldb.ErrExpired)
	}
	return &d, nil
}

// decideDeviceCode records the citizen's answer (approved or denied) to a
// pending, unexpired user code; sqldb.ErrNotFound when there is none.
func (s *store) decideDeviceCode(ctx context.Context, userCode, state, accountID string, amr []string, acr string, authTime time.Time) error {
	res, err := s.db.Exec(ctx, `UPDATE oidc_device_codes SET state = $2, account_id = $3, amr = $4, acr = $5, auth_time = $6
		WHERE user_code = $1 AND state = 'pending' AND expires_at > $7`,
		normUserCode(userCode), state, accountID, strings.Join(amr, " "), acr, sqldb.Micros(authTime), sqldb.Micros(s.now()))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("pending device code: %w", sqldb.ErrNotFound)
	}
	return nil
}
