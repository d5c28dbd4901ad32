package account

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
)

// Activity joins account changes and their activity-log entries: a change
// and its entry are written in one transaction, or neither is. The
// account centre, recovery, e-signature and the operators' commands record
// through it.
type Activity struct {
	db       *sqldb.DB
	accounts *Store
	log      *audit.Log
}

// NewActivity records changes of accounts in log.
func NewActivity(db *sqldb.DB, accounts *Store, log *audit.Log) *Activity {
	return &Activity{db: db, accounts: accounts, log: log}
}

// Log is the activity log the entries go to.
func (a *Activity) Log() *audit.Log { return a.log }

// Change runs fn on the account store inside a transaction and appends e
// in the same transaction.
func (a *Activity) Change(ctx context.Context, e audit.Entry, fn func(accounts *Store) error) error {
	return a.ChangeTx(ctx, e, func(_ *sqldb.Tx, accounts *Store) error { return fn(accounts) })
}

// ChangeTx is Change with the transaction itself, for work another module
// adds to the change (a registry check queued with the data it checks) or
// makes in its own store bound to tx (a passkey renamed, a session ended).
func (a *Activity) ChangeTx(ctx context.Context, e audit.Entry, fn func(tx *sqldb.Tx, accounts *Store) error) error {
	return a.Apply(ctx, func(tx *sqldb.Tx, accounts *Store) ([]audit.Entry, error) {
		return []audit.Entry{e}, fn(tx, accounts)
	})
}

// Apply is ChangeTx for a change whose entries are known only once it is
// made: fn returns them, and they are appended in the same transaction,
// both or neither. They may be several (every session of an account
// ended) or none (a certificate bound already: its use recorded, no
// change to log); an error from fn appends nothing and rolls back.
func (a *Activity) Apply(ctx context.Context, fn func(tx *sqldb.Tx, accounts *Store) ([]audit.Entry, error)) error {
	return a.db.InTx(ctx, func(tx *sqldb.Tx) error {
		es, err := fn(tx, a.accounts.With(tx))
		if err != nil || len(es) == 0 {
			return err
		}
		_, err = a.log.AppendAll(ctx, tx, es)
		return err
	})
}

// Create opens an account and writes its «Учётная запись создана» entry
// in one transaction. Every way an account comes to be goes through it:
// registration (by the citizen, whose ID is the new account's), the
// operators' commands (Admin.Create) and a bank opening one for its
// customer. via says which ("registration", "admin", "bank"); ip is the
// request's, "" for none.
func (a *Activity) Create(ctx context.Context, n New, by audit.Actor, via, ip string) (*Account, error) {
	var created *Account
	err := a.db.InTx(ctx, func(tx *sqldb.Tx) error {
		acc, err := a.accounts.With(tx).Create(ctx, n)
		if err != nil {
			return err
		}
		actor := by
		if actor.Kind == audit.ActorCitizen {
			actor.ID = acc.ID
		}
		_, err = a.log.Append(ctx, tx, audit.Entry{AccountID: acc.ID, Actor: actor, Action: audit.ActionAccountCreated,
			Detail: map[string]string{"via": via}, IP: ip})
		created = acc
		return err
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

// Record appends an entry for something that changed no row (a
// download, a refused attempt). A change is logged with Change, ChangeTx
// or Apply, in its own transaction.
func (a *Activity) Record(ctx context.Context, e audit.Entry) error {
	_, err := a.log.Append(ctx, a.db, e)
	return err
}

// List returns an account's entries since a time, newest first.
func (a *Activity) List(ctx context.Context, accountID string, since time.Time, limit int) ([]audit.Entry, error) {
	return a.log.List(ctx, accountID, since, limit)
}

// EraseDue erases the person data of up to 100 accounts whose deletion
// grace period is over at now, each with its activity-log entry, and
// returns how many. Every replica may run it: Erase re-checks the deadline
// in its transaction, and an account another replica erased first is
// simply gone. A failure of one account is logged and the others go on.
func (a *Activity) EraseDue(ctx context.Context, now time.Time, log *slog.Logger) (int, error) {
	ids, err := a.accounts.DueForErasure(ctx, now, 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		e := audit.Entry{AccountID: id, Actor: audit.Actor{Kind: audit.ActorSystem}, Action: audit.ActionAccountErased}
		err := a.Change(ctx, e, func(s *Store) error { return s.Erase(ctx, id, now) })
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
