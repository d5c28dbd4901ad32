package partner

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/verification/bank"
)

// ActivationWindow is how long the citizen has to set a password on an
// account a bank registered; then the sweep removes it.
const ActivationWindow = 7 * 24 * time.Hour

// Registration is a registration as the API shows it.
type Registration struct {
	ID     string `json:"id"`
	Status string `json:"status"` // "pending_activation"
	Level  string `json:"level"`
	// ActivationExpiresAt: the citizen must set a password before it.
	ActivationExpiresAt time.Time `json:"activation_expires_at"`
	Reference           string    `json:"reference"`
	CreatedAt           time.Time `json:"created_at"`
}

// register is POST /partner/v1/registrations: a customer with no account
// (their SNILS verified nowhere, their phone no account's verified
// contact) gets one at confirmed — SNILS and passport vouched by the bank
// through bank.Confirmer, as a confirmation — with the bank's phone as a
// verified contact and no password; an SMS carries a one-use activation
// link, valid ActivationWindow, to set one.
func (h *Handler) register(r *http.Request, c call, body []byte, key string) (answer, *Problem) {
	ctx := r.Context()
	req, vouched, err := ParseRegistration(strings.NewReader(string(body)), h.now())
	var inv *InvalidError
	if errors.As(err, &inv) {
		p := h.problem(ProblemInvalidRequest, http.StatusBadRequest, "Исправьте поля из списка fields. / Fix the fields listed in fields.")
		p.Fields = inv.Fields
		return answer{}, p
	}
	if err != nil {
		return answer{}, h.problem(ProblemInvalidRequest, http.StatusBadRequest, "Тело запроса не прочитано. / The request body could not be read.")
	}
	holder, err := h.accounts.SNILSHolder(ctx, vouched[bank.SNILS])
	if err != nil {
		return answer{}, h.unavailable(ctx, "SNILS holder", err)
	}
	if holder != "" {
		return answer{}, h.problem(ProblemAccountExists, http.StatusConflict,
			"СНИЛС уже подтверждён в учётной записи; клиент может подтвердить её через POST /partner/v1/confirmations. / The SNILS is verified on an account; confirm it with POST /partner/v1/confirmations.")
	}
	taken, err := h.accounts.Taken(ctx, account.Phone, vouched[bank.Phone])
	if err != nil {
		return answer{}, h.unavailable(ctx, "phone", err)
	}
	if taken {
		p := h.problem(ProblemPhoneTaken, http.StatusConflict, "")
		p.Fields = []FieldProblem{{Name: "phone", Detail: "Телефон — подтверждённый контакт другой учётной записи.", DetailEN: "The phone is another account's verified contact."}}
		return answer{}, p
	}
	b, err := h.banks.Get(ctx, c.partner)
	if errors.Is(err, sqldb.ErrNotFound) || err == nil && (b.Disabled || !b.MayRegister) {
		return answer{}, h.problem(ProblemForbidden, http.StatusForbidden, "Банку не разрешено регистрировать учётные записи. / The bank may not register accounts.")
	}
	if err != nil {
		return answer{}, h.unavailable(ctx, "bank", err)
	}
	now := h.now()
	a, err := h.activity.Create(ctx, account.New{Name: account.Name{Family: vouched[bank.FamilyName], Given: vouched[bank.GivenName],
		Middle: vouched[bank.MiddleName]}, SNILS: vouched[bank.SNILS], Phone: account.Contact{Value: vouched[bank.Phone], VerifiedAt: now}},
		audit.Actor{Kind: audit.ActorBank, ID: c.partner}, "bank", c.ip)
	var te *account.TakenError
	if errors.As(err, &te) || errors.Is(err, account.ErrTaken) {
		return answer{}, h.problem(ProblemPhoneTaken, http.StatusConflict, "")
	}
	if err != nil {
		return answer{}, h.unavailable(ctx, "creating an account", err)
	}
	id := newID("reg_")
	// The notice job replaces the token with the one it sends.
	_, tokenHash := bearer.New()
	reg := Registration{ID: id, Status: "pending_activation", Level: string(assurance.Confirmed),
		ActivationExpiresAt: now.Add(ActivationWindow).UTC().Truncate(time.Microsecond), Reference: strings.TrimSpace(req.Reference),
		CreatedAt: now.UTC().Truncate(time.Microsecond)}
	ok := answer{Status: http.StatusCreated, stored: true}
	ok.Body, _ = json.Marshal(reg)
	v := &partnerVerifier{Service: h.verifier, evidenceID: assurance.NewID(), reference: reg.Reference,
		entry: entry(c, a.ID, ActionPartnerRegistered, map[string]string{"registration": id, "method": req.Method}),
		apply: func(ctx context.Context, tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM bank_links WHERE bank_id = $1 AND subject = $2`, c.partner, "partner:"+id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO partner_registrations (id, partner, account_id, token_hash, reference, expires_at, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, c.partner, a.ID, tokenHash, reg.Reference, sqldb.Micros(now.Add(ActivationWindow)),
				sqldb.Micros(now)); err != nil {
				return err
			}
			if err := h.enqueueNotice(ctx, tx, noticeArgs{What: noticeRegistered, ID: id, BankRU: b.NameRU, BankEN: b.NameEN}); err != nil {
				return err
			}
			return finish(ctx, tx, c.partner, key, ok)
		}}
	cf := &bank.Confirmer{Banks: h.banks, Accounts: h.accounts, Verifier: v, Activity: h.activity}
	out, err := cf.Confirm(ctx, &bank.Result{Bank: *b, Purpose: bank.Register, AccountID: a.ID, Subject: "partner:" + id,
		Values: vouched, Vouched: vouched, At: req.confirmedAt()}, c.ip)
	if err == nil && (len(out.Mismatches) > 0 || out.TooLittle) {
		err = errors.New("partner: a new account does not match its own data")
	}
	if err != nil {
		// The account is removed again: nobody can use it without its
		// vouch, and a retry makes a new one.
		if eerr := h.accounts.Erase(context.WithoutCancel(ctx), a.ID, time.Time{}); eerr != nil {
			h.log.ErrorContext(ctx, "partner: removing a failed registration's account", "err", eerr)
		}
		if errors.Is(err, bank.ErrSNILSTaken) {
			return answer{}, h.problem(ProblemAccountExists, http.StatusConflict, "")
		}
		return answer{}, h.unavailable(ctx, "registering", err)
	}
	return ok, nil
}

// activation finds the pending registration of an activation token:
// its account, or sqldb.ErrNotFound (unknown, used or expired).
func (h *Handler) activation(ctx context.Context, token string) (regID, accountID string, err error) {
	sum := sha256.Sum256([]byte(token))
	err = h.db.QueryRow(ctx, `SELECT id, account_id FROM partner_registrations WHERE token_hash = $1 AND activated_at IS NULL AND expires_at > $2`,
		sum[:], sqldb.Micros(h.now())).Scan(&regID, &accountID)
	return regID, accountID, err
}

// SweepRegistrations removes the accounts banks registered that nobody
// activated in time (no password set: one set through recovery counts).
func (h *Handler) SweepRegistrations(ctx context.Context) (int, error) {
	ids, err := sqldb.Strings(ctx, h.db, `SELECT account_id FROM partner_registrations WHERE activated_at IS NULL AND expires_at <= $1`,
		sqldb.Micros(h.now()))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		a, err := h.accounts.Get(ctx, id)
		if errors.Is(err, sqldb.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		if a.PasswordHash != "" {
			// Activated another way (password recovery): keep it.
			if _, err := h.db.Exec(ctx, `UPDATE partner_registrations SET activated_at = $2 WHERE account_id = $1`, id, sqldb.Micros(h.now())); err != nil {
				return n, err
			}
			continue
		}
		err = h.activity.Change(ctx, audit.Entry{AccountID: id, Actor: audit.Actor{Kind: audit.ActorSystem, ID: "partner"},
			Action: audit.ActionAccountErased, Detail: map[string]string{"reason": "not_activated"}},
			func(s *account.Store) error { return s.Erase(ctx, id, time.Time{}) })
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
