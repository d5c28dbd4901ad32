package partner

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/verification/bank"
)

// The citizen hears of what a bank did through a job enqueued in the
// transaction that records it: a replica that stops after the commit, or
// an SMS gateway that fails, does not leave a citizen without the
// «Это были не вы?» link or the activation link. The job makes the link
// itself (only its hash is stored, and the job's arguments are in the
// database too): a retry makes a new link, which replaces the one before.

// noticeArgs is the notice job's argument.
type noticeArgs struct {
	// What: "confirmed" (ID a confirmation) or "registered" (ID a
	// registration).
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
	token, hash := keys.NewToken()
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
	data := map[string]string{"bank": b.Name(acc.Lang), "link": h.issuer + path + "?token=" + token,
		"days": strconv.Itoa(int(days / (24 * time.Hour)))}
	if a.What == noticeConfirmed {
		t := sqldb.Time(at).In(moscow)
		data["date"], data["time"] = t.Format("02.01.2006"), t.Format("15:04")
	}
	return h.notifier.Deliver(ctx, acc, kind, acc.Lang, data)
}
