package partner

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/verification/bank"
)

// Confirmation is a confirmation as the API shows it.
type Confirmation struct {
	ID string `json:"id"`
	// Status is "confirmed", or "disputed" once the citizen said it was
	// not them (the bank's evidence then verifies nothing).
	Status      string    `json:"status"`
	Level       string    `json:"level"`
	Method      string    `json:"method"`
	Reference   string    `json:"reference"`
	ConfirmedAt time.Time `json:"confirmed_at"`
	CreatedAt   time.Time `json:"created_at"`
	DisputedAt  time.Time `json:"disputed_at,omitzero"`
}

// Activity-log actions of partner calls (actor: the bank).
const (
	ActionPartnerConfirmed  = audit.ActionPartnerConfirmed
	ActionPartnerRegistered = audit.ActionPartnerRegistered
	ActionPartnerDisputed   = audit.ActionPartnerDisputed
)

// newID is a random confirmation id.
func newID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// apiNames are verification/bank's field names as request fields.
var apiNames = map[string]string{bank.PassportSeries: "passport.series", bank.PassportNumber: "passport.number",
	bank.PassportIssueDate: "passport.issue_date"}

func apiName(f string) string {
	if n, ok := apiNames[f]; ok {
		return n
	}
	return f
}

// confirm is POST /partner/v1/confirmations: the account with the
// request's SNILS verified (never a merely claimed one: anyone can type a
// SNILS into their own account) is matched against the bank's data as a
// bank's ID service is (bank.Confirmer) and, when everything agrees,
// raised to confirmed with the bank's vouch as evidence.
func (h *Handler) confirm(r *http.Request, c call, body []byte, key string) (answer, *Problem) {
	ctx := r.Context()
	req, vouched, err := ParseConfirmation(strings.NewReader(string(body)), h.now())
	var inv *InvalidError
	if errors.As(err, &inv) {
		p := h.problem(ProblemInvalidRequest, http.StatusBadRequest, "Исправьте поля из списка fields. / Fix the fields listed in fields.")
		p.Fields = inv.Fields
		return answer{}, p
	}
	if err != nil {
		return answer{}, h.problem(ProblemInvalidRequest, http.StatusBadRequest, "Тело запроса не прочитано. / The request body could not be read.")
	}
	a, err := h.accounts.FindByLogin(ctx, account.SNILS, vouched[bank.SNILS])
	if errors.Is(err, sqldb.ErrNotFound) {
		return answer{}, h.problem(ProblemAccountNotFound, http.StatusNotFound,
			"Нет учётной записи с этим подтверждённым СНИЛС. / No account has this SNILS verified.")
	}
	if err != nil {
		return answer{}, h.unavailable(ctx, "finding the account", err)
	}
	b, err := h.banks.Get(ctx, c.partner)
	if errors.Is(err, sqldb.ErrNotFound) || err == nil && b.Disabled {
		return answer{}, h.problem(ProblemForbidden, http.StatusForbidden, "Банк партнёра не подключён или отключён. / The partner's bank is not configured or disabled.")
	}
	if err != nil {
		return answer{}, h.unavailable(ctx, "bank", err)
	}
	id := newID("cnf_")
	now := h.now()
	conf := Confirmation{ID: id, Status: "confirmed", Level: string(assurance.Confirmed), Method: req.Method,
		Reference: strings.TrimSpace(req.Reference), ConfirmedAt: req.confirmedAt().UTC(), CreatedAt: now.UTC().Truncate(time.Microsecond)}
	ok := answer{Status: http.StatusCreated, location: h.issuer + "/partner/v1/confirmations/" + id, stored: true}
	ok.Body, _ = json.Marshal(conf) // strings and times: Marshal cannot fail
	// The bank's vouch goes through bank.Confirmer as an ID service's does;
	// this Verifier adds the partner's rows to its transaction.
	evidenceID := assurance.NewID()
	// The link of the citizen's notice, sent once this commits.
	token, disputeHash := bearer.New()
	v := &partnerVerifier{Service: h.verifier, evidenceID: evidenceID, reference: conf.Reference,
		entry: entry(c, a.ID, ActionPartnerConfirmed, map[string]string{"confirmation": id, "method": conf.Method}),
		apply: func(ctx context.Context, tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO partner_confirmations (id, partner, account_id, evidence_id, method, reference, confirmed_at, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, c.partner, a.ID, evidenceID, conf.Method, conf.Reference,
				sqldb.Micros(conf.ConfirmedAt), sqldb.Micros(now)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO partner_disputes (token_hash, confirmation_id, account_id, from_level, expires_at)
				VALUES ($1, $2, $3, $4, $5)`, disputeHash, id, a.ID, string(a.Level), sqldb.Micros(now.Add(DisputeWindow))); err != nil {
				return err
			}
			return finish(ctx, tx, c.partner, key, ok)
		}}
	cf := &bank.Confirmer{Banks: h.banks, Accounts: h.accounts, Verifier: v, Activity: h.activity}
	res := &bank.Result{Bank: *b, Purpose: bank.Confirm, AccountID: a.ID, Values: vouched, Vouched: vouched,
		At: conf.ConfirmedAt}
	out, err := cf.ConfirmAccount(ctx, res, a, c.ip)
	switch {
	case errors.Is(err, bank.ErrSNILSTaken):
		return answer{}, h.problem(ProblemSNILSTaken, http.StatusConflict, "")
	case err != nil:
		return answer{}, h.unavailable(ctx, "confirming", err)
	case len(out.Mismatches) > 0:
		p := h.problem(ProblemMismatch, http.StatusConflict, "Данные банка не совпадают с данными учётной записи в полях из списка fields; ничего не изменено. / The bank's data differ from the account's in the fields listed; nothing changed.")
		for _, m := range out.Mismatches {
			// Only the field: the account's value is not the bank's to see.
			p.Fields = append(p.Fields, FieldProblem{Name: apiName(m.Field), Detail: "Не совпадает с учётной записью.", DetailEN: "Differs from the account."})
		}
		return answer{}, p
	case out.TooLittle:
		return answer{}, h.problem(ProblemInsufficient, http.StatusUnprocessableEntity, "")
	}
	h.tellConfirmed(ctx, a, b, id, token, sqldb.Micros(conf.ConfirmedAt))
	return ok, nil
}

// partnerVerifier is assurance.Service for one partner confirmation: it
// names the evidence beforehand, records the bank's reference as the
// vouch's document number, runs the partner's own writes in Verify's
// transaction and adds the partner's activity-log entry to Verify's own
// (appended last, so that the chain is locked only for the commit).
type partnerVerifier struct {
	*assurance.Service
	evidenceID, reference string
	entry                 audit.Entry
	apply                 func(ctx context.Context, tx *sqldb.Tx) error
}

func (v *partnerVerifier) Verify(ctx context.Context, ver assurance.Verification) (assurance.Outcome, error) {
	ver.Evidence.ID = v.evidenceID
	ver.Evidence.Document.Number = v.reference
	ver.Entries = append(ver.Entries, v.entry)
	inner := ver.Apply
	ver.Apply = func(ctx context.Context, tx *sqldb.Tx) error {
		if inner != nil {
			if err := inner(ctx, tx); err != nil {
				return err
			}
		}
		return v.apply(ctx, tx)
	}
	return v.Service.Verify(ctx, ver)
}

// showConfirmation is GET /partner/v1/confirmations/{id}: the partner's
// own confirmations only (another's is as absent as an unknown one).
func (h *Handler) showConfirmation(r *http.Request, c call) (answer, *Problem) {
	var (
		conf     Confirmation
		at, made int64
		disputed sql.NullInt64
	)
	err := h.db.QueryRow(r.Context(), `SELECT c.id, c.method, c.reference, c.confirmed_at, c.created_at,
			(SELECT max(d.used_at) FROM partner_disputes d WHERE d.confirmation_id = c.id)
		FROM partner_confirmations c WHERE c.id = $1 AND c.partner = $2`,
		r.PathValue("id"), c.partner).Scan(&conf.ID, &conf.Method, &conf.Reference, &at, &made, &disputed)
	if errors.Is(err, sqldb.ErrNotFound) {
		return answer{}, h.problem(ProblemConfirmationAbsent, http.StatusNotFound, "")
	}
	if err != nil {
		return answer{}, h.unavailable(r.Context(), "reading a confirmation", err)
	}
	conf.Status, conf.Level = "confirmed", string(assurance.Confirmed)
	conf.ConfirmedAt, conf.CreatedAt = sqldb.Time(at).UTC(), sqldb.Time(made).UTC()
	if disputed.Valid {
		conf.Status, conf.DisputedAt = "disputed", sqldb.Time(disputed.Int64).UTC()
	}
	body, _ := json.Marshal(conf)
	return answer{Status: http.StatusOK, Body: body}, nil
}

// DisputeWindow is how long the citizen's «Это были не вы?» link works.
const DisputeWindow = 30 * 24 * time.Hour

// moscow is the time zone of the notices' dates (a fixed UTC+3, which
// needs no time zone database).
var moscow = time.FixedZone("MSK", 3*60*60)

// NoticeConfirmed is the notice kind telling a citizen that a bank
// confirmed their identity.
const NoticeConfirmed = notice.KindNoticePartnerConfirmed
