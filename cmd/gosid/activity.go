package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/passkey"
	"github.com/gosid/gosid/idp/totp"
	"github.com/gosid/gosid/internal/sqldb"
)

// activity joins account changes and their activity-log entries in one
// transaction (profile.Activity).
type activity struct {
	db       *sqldb.DB
	accounts *account.Store
	log      *audit.Log
}

func (a *activity) Change(ctx context.Context, e audit.Entry, fn func(accounts *account.Store) error) error {
	return a.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := fn(a.accounts.With(tx)); err != nil {
			return err
		}
		_, err := a.log.Append(ctx, tx, e)
		return err
	})
}

func (a *activity) Record(ctx context.Context, e audit.Entry) error {
	_, err := a.log.Append(ctx, a.db, e)
	return err
}

func (a *activity) List(ctx context.Context, accountID string, since time.Time, limit int) ([]audit.Entry, error) {
	return a.log.List(ctx, accountID, since, limit)
}

// eraseDue erases the person data of accounts whose deletion grace period
// is over, each with its activity-log entry, and returns how many. Every
// replica may run it: Erase re-checks the deadline in its transaction, and
// an account another replica erased first is simply gone.
func (a *activity) eraseDue(now func() time.Time, log *slog.Logger) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		ids, err := a.accounts.DueForErasure(ctx, now(), 100)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, id := range ids {
			e := audit.Entry{AccountID: id, Actor: audit.Actor{Kind: audit.ActorSystem}, Action: audit.ActionAccountErased}
			err := a.Change(ctx, e, func(s *account.Store) error { return s.Erase(ctx, id, now()) })
			switch {
			case err == nil:
				n++
			case errors.Is(err, sqldb.ErrNotFound), errors.Is(err, sqldb.ErrConflict):
				// Erased by another replica, or the deletion was cancelled.
			default:
				log.ErrorContext(ctx, "erase account", "err", err)
			}
		}
		return n, nil
	}
}

// exportFactors is the second-factor part of the personal-data export:
// what is enrolled, never the secrets.
func exportFactors(ctx context.Context, accountID string, passkeys passkey.Storage, totps *totp.Store) (map[string]any, error) {
	creds, err := passkeys.List(ctx, accountID)
	if err != nil {
		return nil, err
	}
	type key struct {
		Name       string     `json:"name"`
		CreatedAt  time.Time  `json:"created_at"`
		LastUsedAt *time.Time `json:"last_used_at,omitempty"`
		Synced     bool       `json:"synced"`
	}
	keys := []key{}
	for _, c := range creds {
		k := key{Name: c.Name, CreatedAt: c.CreatedAt, Synced: c.BackupEligible}
		if !c.LastUsedAt.IsZero() {
			k.LastUsedAt = &c.LastUsedAt
		}
		keys = append(keys, k)
	}
	app, err := totps.Enabled(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"passkeys": keys, "authenticator_app": app}, nil
}
