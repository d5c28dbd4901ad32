package partner

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"errors"
	"net/http"
	"strings"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

//go:embed templates
var files embed.FS

// The citizen's pages:
//
//	GET  /activate?token=…        the activation form of an account a bank registered
//	POST /activate                sets the password, signs in, → /account
//	GET  /account/dispute?token=… «Это был не я»: what undoing a bank's confirmation does
//	POST /account/dispute         undoes it (signed in or not): the level back, the evidence
//	                              disputed, the activity log; then how to reach support
//
// Both links are one-use tokens of which only a SHA-256 is stored. The
// forms are state-changing posts under the site's cross-origin protection.

var catalog = webui.Catalog{
	"activate.title":            {"Активация учётной записи", "Account activation"},
	"activate.intro":            {"Банк зарегистрировал для вас учётную запись Gosid. Задайте пароль, чтобы входить в неё.", "Your bank registered a Gosid account for you. Set a password to sign in to it."},
	"activate.password":         {"Новый пароль", "New password"},
	"activate.password_confirm": {"Пароль ещё раз", "The password again"},
	"activate.submit":           {"Задать пароль и войти", "Set the password and sign in"},
	"activate.mismatch":         {"Пароли не совпадают.", "The passwords differ."},
	"activate.expired":          {"Ссылка для активации недействительна: она уже использована или истекла.", "The activation link is not valid: it was used or has expired."},
	"activate.expired.todo":     {"Если учётная запись ещё существует, войдите через восстановление пароля по номеру телефона. Иначе обратитесь в банк ещё раз.", "If the account still exists, get in by recovering the password with your phone number. Otherwise ask your bank again."},
	"activate.recover":          {"Восстановить пароль", "Recover the password"},
	"dispute.title":             {"Это был не я", "It was not me"},
	"dispute.intro":             {"Банк «%s» сообщил, что подтвердил вашу личность %s в %s по московскому времени.", "%s reported confirming your identity on %s at %s Moscow time."},
	"dispute.what":              {"Если это были не вы, отмените подтверждение: уровень учётной записи вернётся к прежнему, а подтверждение банка будет помечено как оспоренное.", "If it was not you, undo the confirmation: your account's level goes back to what it was and the bank's confirmation is marked as disputed."},
	"dispute.submit":            {"Отменить подтверждение", "Undo the confirmation"},
	"dispute.done":              {"Подтверждение отменено.", "The confirmation is undone."},
	"dispute.done.more":         {"Уровень учётной записи возвращён к прежнему. Подтверждение банка больше не передаётся сайтам.", "Your account's level is back to what it was. Sites no longer receive the bank's confirmation."},
	"dispute.expired":           {"Ссылка недействительна: она уже использована или прошло больше 30 дней.", "The link is not valid: it was used, or more than 30 days have passed."},
	"dispute.support":           {"Обратитесь в поддержку Gosid: 8 800 100-70-10 или support@gosid.example, а также в банк, который подтвердил личность.", "Contact Gosid support: 8 800 100-70-10 or support@gosid.example, and the bank that confirmed the identity."},
}

// Passwords hashes a new password (password.Hasher).
type Passwords interface {
	Hash(ctx context.Context, pw string) (string, error)
}

// SessionStarter signs a browser in (session.Store).
type SessionStarter interface {
	Start(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) error
}

type activateView struct {
	webui.Page
	Token   string
	Expired bool
	Rules   []password.Rule
}

func (h *Handler) showActivate(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	v := activateView{Page: h.render.NewPage(r, "activate.title"), Token: token}
	_, _, err := h.activation(r.Context(), token)
	if errors.Is(err, sqldb.ErrNotFound) {
		v.Expired = true
		h.render.Render(w, r, http.StatusGone, "activate", v)
		return
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "partner: activation", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	v.Rules = h.policy.Rules(v.L.Lang)
	h.render.Render(w, r, http.StatusOK, "activate", v)
}

func (h *Handler) submitActivate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PostFormValue("token")
	v := activateView{Page: h.render.NewPage(r, "activate.title"), Token: token}
	regID, accountID, err := h.activation(ctx, token)
	if errors.Is(err, sqldb.ErrNotFound) {
		v.Expired = true
		h.render.Render(w, r, http.StatusGone, "activate", v)
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "partner: activation", "err", err)
		webui.Overloaded(w, err) // a shorter Retry-After
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	v.Form = &webui.Form{Values: map[string]string{}, Errors: map[string]string{}}
	if vs := h.policy.Check(pw, password.PolicyContext{}); len(vs) > 0 {
		v.Form.Errors["password"] = h.policy.Explain(pw, password.PolicyContext{}, v.L.Lang)
		v.Rules = h.policy.Checklist(vs, v.L.Lang)
	} else if pw != confirm {
		v.Form.Errors["password_confirm"] = v.L.T("activate.mismatch")
	}
	if !v.Form.OK() {
		if v.Rules == nil {
			v.Rules = h.policy.Rules(v.L.Lang)
		}
		h.render.Render(w, r, http.StatusUnprocessableEntity, "activate", v)
		return
	}
	hash, err := h.passwords.Hash(ctx, pw)
	if err == nil {
		err = h.db.InTx(ctx, func(tx *sqldb.Tx) error {
			// Compare-and-swap: two submissions of one link set one password.
			res, err := tx.Exec(ctx, `UPDATE partner_registrations SET activated_at = $2 WHERE id = $1 AND activated_at IS NULL`, regID, sqldb.Micros(h.now()))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return sqldb.ErrConflict
			}
			if err := h.accounts.With(tx).SetPassword(ctx, accountID, hash); err != nil {
				return err
			}
			_, err = h.activity.Log().AppendAll(ctx, tx, []audit.Entry{{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: accountID},
				Action: audit.ActionPasswordChanged, IP: httpx.ClientIP(r), Detail: map[string]string{"via": "activation"}}})
			return err
		})
	}
	if errors.Is(err, sqldb.ErrConflict) {
		v.Expired = true
		h.render.Render(w, r, http.StatusGone, "activate", v)
		return
	}
	if err == nil {
		err = h.sessions.Start(w, r, accountID, []string{"pwd"}, httpx.ClientIP(r))
	}
	if err != nil {
		h.log.ErrorContext(ctx, "partner: activation", "err", err)
		webui.Overloaded(w, err) // a shorter Retry-After
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	webui.Redirect(w, r, "/account")
}

type disputeView struct {
	webui.Page
	State                   string // "form", "done", "expired"
	Token, Bank, Date, Time string
}

// dispute is a pending dispute link.
type dispute struct {
	hash                      []byte
	confirmationID, accountID string
	fromLevel, partner        string
	evidenceID                string
	confirmedAt               int64
}

func (h *Handler) findDispute(ctx context.Context, token string) (*dispute, error) {
	sum := sha256.Sum256([]byte(token))
	d := &dispute{hash: sum[:]}
	err := h.db.QueryRow(ctx, `SELECT d.confirmation_id, d.account_id, d.from_level, c.partner, c.evidence_id, c.confirmed_at
		FROM partner_disputes d JOIN partner_confirmations c ON c.id = d.confirmation_id
		WHERE d.token_hash = $1 AND d.used_at IS NULL AND d.expires_at > $2`, d.hash, sqldb.Micros(h.now())).
		Scan(&d.confirmationID, &d.accountID, &d.fromLevel, &d.partner, &d.evidenceID, &d.confirmedAt)
	return d, err
}

func (h *Handler) showDispute(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	v := disputeView{Page: h.render.NewPage(r, "dispute.title"), Token: token, State: "form"}
	d, err := h.findDispute(r.Context(), token)
	if errors.Is(err, sqldb.ErrNotFound) {
		v.State = "expired"
		h.render.Render(w, r, http.StatusGone, "dispute", v)
		return
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "partner: dispute", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	v.Bank = d.partner
	if b, err := h.banks.Get(r.Context(), d.partner); err == nil {
		v.Bank = b.Name(v.L.Lang)
	}
	at := sqldb.Time(d.confirmedAt).In(moscow)
	v.Date, v.Time = at.Format("02.01.2006"), at.Format("15:04")
	h.render.Render(w, r, http.StatusOK, "dispute", v)
}

func (h *Handler) submitDispute(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := disputeView{Page: h.render.NewPage(r, "dispute.title"), State: "done"}
	d, err := h.findDispute(ctx, r.PostFormValue("token"))
	if errors.Is(err, sqldb.ErrNotFound) {
		v.State = "expired"
		h.render.Render(w, r, http.StatusGone, "dispute", v)
		return
	}
	if err == nil {
		_, err = h.verifier.Lower(ctx, assurance.Lowering{AccountID: d.accountID, To: assurance.Level(d.fromLevel), Reason: "bank_confirmation_disputed",
			Actor: audit.Actor{Kind: audit.ActorCitizen, ID: d.accountID}, Standing: true,
			Apply: func(ctx context.Context, tx *sqldb.Tx) error {
				res, err := tx.Exec(ctx, `UPDATE partner_disputes SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL`, d.hash, sqldb.Micros(h.now()))
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n != 1 {
					return sql.ErrNoRows
				}
				if err := h.verifier.Dispute(ctx, tx, d.accountID, d.evidenceID); err != nil {
					return err
				}
				_, err = h.activity.Log().AppendAll(ctx, tx, []audit.Entry{{AccountID: d.accountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: d.accountID},
					Action: ActionPartnerDisputed, IP: httpx.ClientIP(r), Detail: map[string]string{"bank": d.partner, "confirmation": d.confirmationID}}})
				return err
			}})
	}
	if errors.Is(err, sql.ErrNoRows) {
		v.State = "expired"
		h.render.Render(w, r, http.StatusGone, "dispute", v)
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "partner: dispute", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	h.render.Render(w, r, http.StatusOK, "dispute", v)
}

var _ = strings.TrimSpace
