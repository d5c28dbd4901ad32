package partner

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/verification/bank"
)

// The citizen hears of what a bank did whatever happens to the replica
// or the SMS gateway, with the «Это были не вы?» link or the activation
// link; only the link's hash is stored.
//
// A confirmation's notice goes out right after its transaction commits,
// in the background (the bank's call does not wait for the gateway), with
// the link whose hash the dispute row was written with; the row's
// notified_at then records it. The notice sweep sends those left without
// it (a replica that stopped, a gateway that failed, too many sends under
// way) with a new link, which replaces the one before: the dispute row is
// the durable record that a notice is owed, written in the confirmation's
// own transaction. A job per confirmation cost PostgreSQL a third as much
// again as the confirmation.
//
// A registration's notice is a job enqueued in the transaction that
// records it; the job makes the link itself (the job's arguments are in
// the database too), and a retry makes a new link.

// noticeArgs is the notice job's argument.
type noticeArgs struct {
	// What: "registered" (ID a registration) or, in jobs of the releases
	// before, "confirmed" (ID a confirmation).
	What string `json:"what"`
	ID   string `json:"id"`
	// The bank's names and, for a confirmation, when the bank confirmed
	// (Unix microseconds): public facts the request already had, carried
	// so that the job need not read them again. Jobs of the release before
	// lack them and read them.
	BankRU string `json:"bank_ru,omitempty"`
	BankEN string `json:"bank_en,omitempty"`
	At     int64  `json:"at,omitempty"`
}

func (noticeArgs) Kind() string { return "partner.notice" }

const (
	noticeConfirmed  = "confirmed"
	noticeRegistered = "registered"
)

// registerNotices adds the notice job to q.
func (h *Handler) registerNotices(q *jobs.Queue) error {
	return jobs.Register(q, jobs.Worker[noticeArgs]{
		Work:        func(ctx context.Context, j jobs.Job[noticeArgs]) error { return h.deliver(ctx, j.Args) },
		MaxAttempts: 20,
		Timeout:     time.Minute,
	})
}

// enqueueNotice queues the notice a in tx.
func (h *Handler) enqueueNotice(ctx context.Context, tx *sqldb.Tx, a noticeArgs) error {
	_, err := h.jobs.Enqueue(ctx, tx, a, nil) // once: the idempotency row makes the transaction commit once
	return err
}

// deliver sends the notice of a: nothing when its link can no longer be
// used (disputed, activated, expired, the account gone).
func (h *Handler) deliver(ctx context.Context, a noticeArgs) error {
	token, hash := bearer.New()
	now := sqldb.Micros(h.now())
	var accountID, partner string
	var at int64
	var kind, path string
	var days time.Duration
	switch a.What {
	case noticeConfirmed:
		err := h.db.QueryRow(ctx, `UPDATE partner_disputes SET token_hash = $1
			WHERE confirmation_id = $2 AND used_at IS NULL AND expires_at > $3 RETURNING account_id`, hash, a.ID, now).Scan(&accountID)
		if errors.Is(err, sqldb.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		at = a.At
		if a.BankRU == "" || at == 0 {
			if err := h.db.QueryRow(ctx, `SELECT partner, confirmed_at FROM partner_confirmations WHERE id = $1`, a.ID).Scan(&partner, &at); err != nil {
				return err
			}
		}
		kind, path, days = notice.KindNoticePartnerConfirmed, "/account/dispute", DisputeWindow
	case noticeRegistered:
		err := h.db.QueryRow(ctx, `UPDATE partner_registrations SET token_hash = $1
			WHERE id = $2 AND activated_at IS NULL AND expires_at > $3 RETURNING account_id, partner`,
			hash, a.ID, now).Scan(&accountID, &partner)
		if errors.Is(err, sqldb.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		kind, path, days = notice.KindNoticeActivate, "/activate", ActivationWindow
	default:
		h.log.ErrorContext(ctx, "partner notice of an unknown kind", "what", a.What)
		return nil
	}
	acc, err := h.accounts.Get(ctx, accountID)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	b := &bank.Bank{NameRU: a.BankRU, NameEN: a.BankEN}
	if b.NameRU == "" {
		if b, err = h.banks.Get(ctx, partner); err != nil {
			return err
		}
	}
	if err := h.send(ctx, acc, b, kind, h.issuer+path+"?token="+token, days, at); err != nil {
		return err
	}
	if a.What == noticeConfirmed {
		return h.notified(ctx, a.ID)
	}
	return nil
}

// send delivers a notice of kind with link, valid for days, to acc's
// contacts; at is when the bank confirmed (Unix microseconds, 0 for a
// registration).
func (h *Handler) send(ctx context.Context, acc *account.Account, b *bank.Bank, kind, link string, days time.Duration, at int64) error {
	data := map[string]string{"bank": b.Name(acc.Lang), "link": link, "days": strconv.Itoa(int(days / (24 * time.Hour)))}
	if at != 0 {
		t := sqldb.Time(at).In(moscow)
		data["date"], data["time"] = t.Format("02.01.2006"), t.Format("15:04")
	}
	return h.notifier.Deliver(ctx, acc, kind, acc.Lang, data)
}

// notified records that confirmation id's notice went out.
func (h *Handler) notified(ctx context.Context, id string) error {
	_, err := h.db.Exec(ctx, `UPDATE partner_disputes SET notified_at = $2 WHERE confirmation_id = $1 AND notified_at IS NULL`,
		id, sqldb.Micros(h.now()))
	return err
}

// maxTelling bounds the confirmation notices a process sends at once in
// the background; past it the sweep sends them.
const maxTelling = 256

// tellConfirmed sends the notice of confirmation id, committed just now,
// to acc with the link of token, in the background; when it fails or too
// many are under way, the sweep sends it later.
func (h *Handler) tellConfirmed(ctx context.Context, acc *account.Account, b *bank.Bank, id, token string, at int64) {
	select {
	case h.telling <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-h.telling }()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeGrace/2)
		defer cancel()
		err := h.send(ctx, acc, b, notice.KindNoticePartnerConfirmed, h.issuer+"/account/dispute?token="+token, DisputeWindow, at)
		if err == nil {
			err = h.notified(ctx, id)
		}
		if err != nil {
			h.log.WarnContext(ctx, "partner: a confirmation's notice is left to the sweep", "confirmation", id, "err", err)
		}
	}()
}

// noticeGrace is how long a confirmation's own notice may take before the
// sweep sends it instead.
const noticeGrace = 2 * time.Minute

// SweepNotices sends the notices of confirmations committed more than
// noticeGrace ago that did not go out, each with a new link (a periodic
// job: one round at a time).
func (h *Handler) SweepNotices(ctx context.Context) (int, error) {
	now := h.now()
	rows, err := h.db.Query(ctx, `SELECT confirmation_id FROM partner_disputes
		WHERE notified_at IS NULL AND used_at IS NULL AND expires_at > $1 AND expires_at < $2 ORDER BY expires_at LIMIT 500`,
		sqldb.Micros(now), sqldb.Micros(now.Add(DisputeWindow-noticeGrace)))
	if err != nil {
		return 0, err
	}
	ids, err := sqldb.Collect(rows, func(r sqldb.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, h.deliver(ctx, noticeArgs{What: noticeConfirmed, ID: id}))
	}
	return len(ids), errors.Join(errs...)
}
