package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Kind is what a charge is for.
type Kind string

const (
	Fine  Kind = "fine"  // штраф
	Tax   Kind = "tax"   // налог
	Fee   Kind = "fee"   // госпошлина
	Duty  Kind = "duty"  // таможенный платёж, сбор
	Other Kind = "other" // прочее
)

// Kinds lists the kinds in the order of filters.
func Kinds() []Kind { return []Kind{Fine, Tax, Fee, Duty, Other} }

// Label is the kind's name for people.
func (k Kind) Label() Text {
	switch k {
	case Fine:
		return Text{"Штраф", "Fine"}
	case Tax:
		return Text{"Налог", "Tax"}
	case Fee:
		return Text{"Госпошлина", "State fee"}
	case Duty:
		return Text{"Пошлина или сбор", "Duty"}
	case Other:
		return Text{"Прочее", "Other"}
	}
	return Text{string(k), string(k)}
}

// ChargeStatus is a charge's status.
type ChargeStatus string

const (
	Unpaid    ChargeStatus = "unpaid"
	Paid      ChargeStatus = "paid"
	Cancelled ChargeStatus = "cancelled"
	// Refunded: every kopeck paid was returned. A partial refund leaves
	// the charge Paid (Charge.Refunded says how much went back).
	Refunded ChargeStatus = "refunded"
)

// Label is the status for people.
func (s ChargeStatus) Label() Text {
	switch s {
	case Unpaid:
		return Text{"Не оплачено", "Unpaid"}
	case Paid:
		return Text{"Оплачено", "Paid"}
	case Cancelled:
		return Text{"Аннулировано", "Cancelled"}
	case Refunded:
		return Text{"Возвращено", "Refunded"}
	}
	return Text{string(s), string(s)}
}

// Payee is whom the money goes to: the Treasury's account of the agency.
type Payee struct {
	Name     string `json:"name"`
	INN      string `json:"inn"`
	KPP      string `json:"kpp"`
	BIK      string `json:"bik"`
	Account  string `json:"account"` // казначейский счёт, 20 digits
	BankName string `json:"bank_name"`
	KBK      string `json:"kbk"`
	OKTMO    string `json:"oktmo"`
}

// Charge is an agency's claim for money under a УИН.
type Charge struct {
	UIN        string
	Agency     string // the agency's code
	Kind       Kind
	Payee      Payee
	Purpose    string
	LegalBasis string
	Amount     int64 // kopecks
	// DiscountAmount, when not 0, is what is due instead of Amount up to
	// and including DiscountUntil (Moscow day): a traffic fine paid within
	// 20 days costs half.
	DiscountAmount int64
	DiscountUntil  Date
	IssuedOn       Date
	DueOn          Date
	Concerns       []Identifier
	PayerName      string
	Status         ChargeStatus
	// Version is the agency's compare-and-swap: PostCharge with
	// ExpectVersion set changes only that version.
	Version      int64
	CancelReason string
	PaidAt       time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// DiscountActive reports whether paying at now gets the discount: the
// charge is unpaid and now's Moscow day is not after DiscountUntil.
func (c *Charge) DiscountActive(now time.Time) bool {
	return c.Status == Unpaid && c.DiscountAmount > 0 && !c.DiscountUntil.IsZero() &&
		!c.DiscountUntil.Before(MoscowDate(now))
}

// DueAmount is what paying at now costs, and whether that is the discount.
func (c *Charge) DueAmount(now time.Time) (amount int64, discounted bool) {
	if c.DiscountActive(now) {
		return c.DiscountAmount, true
	}
	return c.Amount, false
}

// Overdue reports whether the charge is unpaid after its due (Moscow) day.
func (c *Charge) Overdue(now time.Time) bool {
	return c.Status == Unpaid && !c.DueOn.IsZero() && c.DueOn.Before(MoscowDate(now))
}

// FieldError names a field to fix, with the reason for people.
type FieldError struct {
	Field string
	RU    string
	EN    string
}

// ValidationError lists what is wrong with a charge or a document; it is
// ErrInvalid for errors.Is. Its text names fields only, never values.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = f.Field
	}
	return "payments: invalid " + strings.Join(names, ", ")
}

// Is makes a ValidationError ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

type fieldErrors []FieldError

func (fe *fieldErrors) add(field, ru, en string) {
	*fe = append(*fe, FieldError{field, ru, en})
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe}
}

func digitsLen(s string, n ...int) bool { return digits(s) && slices.Contains(n, len(s)) }

// Validate checks a charge as an agency posts it and normalises its
// identifiers in place. Every problem is reported, by field.
func (c *Charge) Validate() error {
	var fe fieldErrors
	if !ValidUIN(c.UIN) {
		fe.add("uin", "УИН — 20 или 25 цифр с верным контрольным разрядом", "the UIN is 20 or 25 digits with a correct control digit")
	}
	if !slices.Contains(Kinds(), c.Kind) {
		fe.add("kind", "Неизвестный вид начисления", "unknown kind of charge")
	}
	p := c.Payee
	if strings.TrimSpace(p.Name) == "" || runes(p.Name) > 300 {
		fe.add("payee.name", "Укажите получателя (до 300 символов)", "payee name is required (up to 300 characters)")
	}
	if len(p.INN) != 10 || !validINN(p.INN) {
		fe.add("payee.inn", "ИНН получателя — 10 цифр с верным контрольным числом", "the payee's INN is 10 digits with a correct control digit")
	}
	if !digitsLen(p.KPP, 9) {
		fe.add("payee.kpp", "КПП — 9 цифр", "KPP is 9 digits")
	}
	if !digitsLen(p.BIK, 9) {
		fe.add("payee.bik", "БИК — 9 цифр", "BIK is 9 digits")
	}
	if !digitsLen(p.Account, 20) || !strings.HasPrefix(p.Account, "03") {
		fe.add("payee.account", "Казначейский счёт — 20 цифр, начинается с 03", "the treasury account is 20 digits starting with 03")
	}
	if !digitsLen(p.KBK, 20) {
		fe.add("payee.kbk", "КБК — 20 цифр", "KBK is 20 digits")
	}
	if !digitsLen(p.OKTMO, 8, 11) {
		fe.add("payee.oktmo", "ОКТМО — 8 или 11 цифр", "OKTMO is 8 or 11 digits")
	}
	if strings.TrimSpace(c.Purpose) == "" || runes(c.Purpose) > 210 {
		fe.add("purpose", "Укажите назначение платежа (до 210 символов)", "purpose is required (up to 210 characters)")
	}
	if runes(c.LegalBasis) > 500 {
		fe.add("legal_basis", "Основание — до 500 символов", "legal basis is up to 500 characters")
	}
	if c.Amount <= 0 || c.Amount > MaxAmount {
		fe.add("amount", "Сумма — целое положительное число копеек", "amount is a positive whole number of kopecks")
	}
	if c.DiscountAmount < 0 || (c.DiscountAmount > 0 && c.DiscountAmount >= c.Amount) {
		fe.add("discount_amount", "Сумма со скидкой должна быть меньше суммы начисления", "the discounted amount must be less than the amount")
	}
	if (c.DiscountAmount > 0) != !c.DiscountUntil.IsZero() {
		fe.add("discount_until", "Скидка указывается вместе со сроком её действия", "a discount needs its last day, and a last day its discount")
	}
	if c.IssuedOn.IsZero() {
		fe.add("issued_on", "Укажите дату начисления", "issue date is required")
	}
	if c.DueOn.IsZero() || (!c.IssuedOn.IsZero() && c.DueOn.Before(c.IssuedOn)) {
		fe.add("due_on", "Срок оплаты не раньше даты начисления", "due date is not before the issue date")
	}
	if !c.DiscountUntil.IsZero() && !c.IssuedOn.IsZero() && c.DiscountUntil.Before(c.IssuedOn) {
		fe.add("discount_until", "Срок скидки не раньше даты начисления", "the discount's last day is not before the issue date")
	}
	if len(c.Concerns) == 0 || len(c.Concerns) > 10 {
		fe.add("concerns", "Укажите от одного до десяти идентификаторов плательщика", "give one to ten identifiers of the payer")
	}
	for i := range c.Concerns {
		v, ok := c.Concerns[i].Normalise()
		if !ok {
			fe.add(fmt.Sprintf("concerns[%d]", i), "Неверный номер: "+c.Concerns[i].Kind.Label().RU, "invalid number: "+c.Concerns[i].Kind.Label().EN)
			continue
		}
		c.Concerns[i].Value = v
	}
	if runes(c.PayerName) > 300 {
		fe.add("payer_name", "Имя плательщика — до 300 символов", "payer name is up to 300 characters")
	}
	return fe.err()
}

// ChargeEvent is what happened to a charge.
type ChargeEvent string

const (
	ChargePosted    ChargeEvent = "posted"
	ChargeChanged   ChargeEvent = "changed"
	ChargeCancelled ChargeEvent = "cancelled"
	ChargePaid      ChargeEvent = "paid"
	ChargeRefunded  ChargeEvent = "refunded"
)

// ChargeChange is a change of a charge as its transaction sees it.
type ChargeChange struct {
	Event   ChargeEvent
	UIN     string
	Agency  string
	Status  ChargeStatus
	Version int64
	// Hashes are the blind-index hashes of whom it concerns, to find the
	// citizens to notify (by their documents' hashes).
	Hashes []string
	// PaymentID and Amount are set for paid and refunded.
	PaymentID string
	Amount    int64
}

// sealed is what of a charge is personal: sealed at rest.
type sealed struct {
	Concerns  []Identifier `json:"concerns"`
	PayerName string       `json:"payer_name,omitempty"`
}

func chargeAAD(uin string) []byte { return []byte("portal_charges|" + uin) }

const chargeColumns = `uin, agency, kind, payee, purpose, legal_basis, amount, discount_amount, discount_until, issued_on, due_on,
	data_enc, status, version, cancel_reason, paid_at, created_at, updated_at`

func (s *Store) scanCharge(ctx context.Context, row sqldb.Scanner) (*Charge, error) {
	var c Charge
	var payee, until, issued, due string
	var blob []byte
	var paid *int64
	var created, updated int64
	if err := row.Scan(&c.UIN, &c.Agency, &c.Kind, &payee, &c.Purpose, &c.LegalBasis, &c.Amount, &c.DiscountAmount, &until,
		&issued, &due, &blob, &c.Status, &c.Version, &c.CancelReason, &paid, &created, &updated); err != nil {
		return nil, notFound(err)
	}
	if err := json.Unmarshal([]byte(payee), &c.Payee); err != nil {
		return nil, err
	}
	c.DiscountUntil, _ = ParseDate(until)
	c.IssuedOn, _ = ParseDate(issued)
	c.DueOn, _ = ParseDate(due)
	if paid != nil {
		c.PaidAt = sqldb.Time(*paid)
	}
	c.CreatedAt, c.UpdatedAt = sqldb.Time(created), sqldb.Time(updated)
	plain, err := s.sealer.Open(ctx, blob, chargeAAD(c.UIN))
	if err != nil {
		return nil, fmt.Errorf("payments: open charge: %w", err)
	}
	defer clear(plain)
	var sd sealed
	if err := json.Unmarshal(plain, &sd); err != nil {
		return nil, err
	}
	c.Concerns, c.PayerName = sd.Concerns, sd.PayerName
	return &c, nil
}

// Charge returns a charge by its УИН.
func (s *Store) Charge(ctx context.Context, uin string) (*Charge, error) {
	return s.scanCharge(ctx, s.db.QueryRow(ctx, `SELECT `+chargeColumns+` FROM portal_charges WHERE uin = $1`, uin))
}

// ChargeTx is Charge inside a change's transaction (OnChargeChange).
func (s *Store) ChargeTx(ctx context.Context, tx *sqldb.Tx, uin string) (*Charge, error) {
	return s.scanCharge(ctx, tx.QueryRow(ctx, `SELECT `+chargeColumns+` FROM portal_charges WHERE uin = $1`, uin))
}

// AgencyCharge returns an agency's own charge; another agency's is
// ErrNotFound.
func (s *Store) AgencyCharge(ctx context.Context, agency, uin string) (*Charge, error) {
	return s.scanCharge(ctx, s.db.QueryRow(ctx, `SELECT `+chargeColumns+` FROM portal_charges WHERE uin = $1 AND agency = $2`, uin, agency))
}

// PostOptions are PostCharge's optional conditions.
type PostOptions struct {
	// ExpectVersion, when not 0, changes the charge only at that version
	// (ErrConflict otherwise, and for a charge that does not exist yet).
	ExpectVersion int64
}

// PostCharge records an agency's charge: a new УИН is inserted (created
// true); the agency's own unpaid charge under that УИН is replaced by c
// (its version goes up). A УИН of another agency is ErrNotFound (its
// existence is not confirmed; nothing is overwritten), a paid or refunded
// charge ErrPaid, a cancelled one ErrCancelled; a charge with a payment
// in progress at the acquirer is ErrConflict (the citizen is paying the
// amount they were shown: the agency retries once it is settled).
func (s *Store) PostCharge(ctx context.Context, agency string, c Charge, opts ...PostOptions) (*Charge, bool, error) {
	var opt PostOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	c.Agency = agency
	c.Concerns = slices.Clone(c.Concerns) // Validate normalises in place: not the caller's
	if err := c.Validate(); err != nil {
		return nil, false, err
	}
	payee, err := json.Marshal(c.Payee)
	if err != nil {
		return nil, false, err
	}
	plain, err := json.Marshal(sealed{c.Concerns, c.PayerName})
	if err != nil {
		return nil, false, err
	}
	blob, err := s.sealer.Seal(plain, chargeAAD(c.UIN))
	clear(plain)
	if err != nil {
		return nil, false, err
	}
	hashes := s.hashes(c.Concerns)
	now := sqldb.Micros(s.now())
	var created bool
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		created = false
		var owner string
		var status ChargeStatus
		var version int64
		err := tx.QueryRow(ctx, `SELECT agency, status, version FROM portal_charges WHERE uin = $1`, c.UIN).Scan(&owner, &status, &version)
		switch {
		case errors.Is(err, sqldb.ErrNotFound):
			if opt.ExpectVersion != 0 {
				return ErrConflict
			}
			created = true
			if _, err := tx.Exec(ctx, `INSERT INTO portal_charges (`+chargeColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, '', NULL, $14, $14)`,
				c.UIN, agency, c.Kind, string(payee), c.Purpose, c.LegalBasis, c.Amount, c.DiscountAmount, c.DiscountUntil.String(),
				c.IssuedOn.String(), c.DueOn.String(), blob, Unpaid, now); err != nil {
				return err // a racing insert of the same УИН: ErrConflict
			}
			version = 0
		case err != nil:
			return err
		case owner != agency:
			return ErrNotFound
		case status == Paid || status == Refunded:
			return ErrPaid
		case status == Cancelled:
			return ErrCancelled
		case opt.ExpectVersion != 0 && opt.ExpectVersion != version:
			return ErrConflict
		default:
			var active int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM portal_payments WHERE uin = $1 AND status = 'pending'`, c.UIN).Scan(&active); err != nil {
				return err
			}
			if active > 0 {
				return fmt.Errorf("%w: a payment is in progress", ErrConflict)
			}
			// Compare-and-swap on what was read: a payment or another change
			// between the read and here makes it change nothing.
			res, err := tx.Exec(ctx, `UPDATE portal_charges SET kind = $3, payee = $4, purpose = $5, legal_basis = $6, amount = $7,
				discount_amount = $8, discount_until = $9, issued_on = $10, due_on = $11, data_enc = $12, version = version + 1, updated_at = $13
				WHERE uin = $1 AND version = $2 AND status = 'unpaid'`,
				c.UIN, version, c.Kind, string(payee), c.Purpose, c.LegalBasis, c.Amount, c.DiscountAmount, c.DiscountUntil.String(),
				c.IssuedOn.String(), c.DueOn.String(), blob, now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return ErrConflict
			}
			// A `new` payment (not yet at the acquirer) of the old amount
			// is dropped: the next «Оплатить» makes one of the new amount.
			if _, err := tx.Exec(ctx, `UPDATE portal_payments SET status = 'expired', updated_at = $2 WHERE uin = $1 AND status = 'new'`,
				c.UIN, now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM portal_charge_ids WHERE uin = $1`, c.UIN); err != nil {
				return err
			}
		}
		for _, h := range hashes {
			if _, err := tx.Exec(ctx, `INSERT INTO portal_charge_ids (uin, hash) VALUES ($1, $2)`, c.UIN, h); err != nil {
				return err
			}
		}
		ev := ChargeChanged
		if created {
			ev = ChargePosted
		}
		return s.chargeChanged(ctx, tx, ChargeChange{Event: ev, UIN: c.UIN, Agency: agency, Status: Unpaid, Version: version + 1, Hashes: hashes})
	})
	if err != nil {
		return nil, false, err
	}
	got, err := s.Charge(ctx, c.UIN)
	return got, created, err
}

func (s *Store) hashes(ids []Identifier) []string {
	var out []string
	for _, id := range ids {
		v, ok := id.Normalise()
		if !ok {
			continue
		}
		h := blindIndex(s.indexKey, id.Kind, v)
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func (s *Store) chargeChanged(ctx context.Context, tx *sqldb.Tx, c ChargeChange) error {
	if s.OnChargeChange == nil {
		return nil
	}
	if c.Hashes == nil {
		hs, err := sqldb.Strings(ctx, tx, `SELECT hash FROM portal_charge_ids WHERE uin = $1 ORDER BY hash`, c.UIN)
		if err != nil {
			return err
		}
		c.Hashes = hs
	}
	return s.OnChargeChange(ctx, tx, c)
}

// CancelCharge cancels an agency's unpaid charge, with its reason. A paid
// one is ErrPaid, another agency's ErrNotFound; cancelling twice is not an
// error. A payment in progress at the acquirer is ErrConflict.
func (s *Store) CancelCharge(ctx context.Context, agency, uin, reason string) error {
	now := sqldb.Micros(s.now())
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var status ChargeStatus
		var version int64
		if err := tx.QueryRow(ctx, `SELECT status, version FROM portal_charges WHERE uin = $1 AND agency = $2`, uin, agency).
			Scan(&status, &version); err != nil {
			return notFound(err)
		}
		switch status {
		case Cancelled:
			return nil
		case Paid, Refunded:
			return ErrPaid
		}
		var active int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM portal_payments WHERE uin = $1 AND status = 'pending'`, uin).Scan(&active); err != nil {
			return err
		}
		if active > 0 {
			return fmt.Errorf("%w: a payment is in progress", ErrConflict)
		}
		res, err := tx.Exec(ctx, `UPDATE portal_charges SET status = 'cancelled', cancel_reason = $3, version = version + 1, updated_at = $4
			WHERE uin = $1 AND version = $2 AND status = 'unpaid'`, uin, version, reason, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrConflict
		}
		if _, err := tx.Exec(ctx, `UPDATE portal_payments SET status = 'expired', updated_at = $2 WHERE uin = $1 AND status = 'new'`, uin, now); err != nil {
			return err
		}
		return s.chargeChanged(ctx, tx, ChargeChange{Event: ChargeCancelled, UIN: uin, Agency: agency, Status: Cancelled, Version: version + 1})
	})
}

// ChargeFilter narrows «Мои начисления». Zero fields do not filter.
type ChargeFilter struct {
	Kind                 Kind
	Status               ChargeStatus
	From, To             Date // issued on, inclusive
	MinAmount, MaxAmount int64
	UIN                  string // search by УИН (exact, or a prefix of at least 4 digits)
}

// ChargesFor returns the charges concerning any of a citizen's
// identifiers: unpaid first, the soonest due first (so the overdue lead),
// then the others, the most recently changed first.
func (s *Store) ChargesFor(ctx context.Context, ids []Identifier, f ChargeFilter) ([]*Charge, error) {
	hashes := s.hashes(ids)
	if len(hashes) == 0 {
		return nil, nil
	}
	q := `SELECT ` + chargeColumns + ` FROM portal_charges WHERE uin IN (SELECT uin FROM portal_charge_ids WHERE hash IN (`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	for i, h := range hashes {
		if i > 0 {
			q += ", "
		}
		q += arg(h)
	}
	q += "))"
	if f.Kind != "" {
		q += " AND kind = " + arg(f.Kind)
	}
	if f.Status != "" {
		q += " AND status = " + arg(f.Status)
	}
	if !f.From.IsZero() {
		q += " AND issued_on >= " + arg(f.From.String())
	}
	if !f.To.IsZero() {
		q += " AND issued_on <= " + arg(f.To.String())
	}
	if f.MinAmount > 0 {
		q += " AND amount >= " + arg(f.MinAmount)
	}
	if f.MaxAmount > 0 {
		q += " AND amount <= " + arg(f.MaxAmount)
	}
	if u := strings.TrimSpace(f.UIN); u != "" {
		if !digits(u) || len(u) > 25 {
			return nil, nil
		}
		if len(u) >= 4 {
			q += " AND uin LIKE " + arg(u+"%")
		} else {
			q += " AND uin = " + arg(u)
		}
	}
	q += ` ORDER BY CASE WHEN status = 'unpaid' THEN 0 ELSE 1 END,
		CASE WHEN status = 'unpaid' THEN due_on ELSE '' END, updated_at DESC, uin LIMIT 500`
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Charge
	for rows.Next() {
		c, err := s.scanCharge(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, sqldb.Classify(rows.Err())
}

// DiscountEnding are the unpaid charges whose discount ends on day, with
// the keyed hashes of whom they concern (for DocumentHolders): the «скидка
// заканчивается» reminder.
func (s *Store) DiscountEnding(ctx context.Context, day Date) (map[string][]string, error) {
	rows, err := s.db.Query(ctx, `SELECT c.uin, i.hash FROM portal_charges c JOIN portal_charge_ids i ON i.uin = c.uin
		WHERE c.status = $1 AND c.discount_amount > 0 AND c.discount_until = $2 ORDER BY c.uin`, string(Unpaid), day.String())
	if err != nil {
		return nil, err
	}
	type pair struct{ uin, hash string }
	pairs, err := sqldb.Collect(rows, func(r sqldb.Scanner) (pair, error) {
		var p pair
		return p, r.Scan(&p.uin, &p.hash)
	})
	out := map[string][]string{}
	for _, p := range pairs {
		out[p.uin] = append(out[p.uin], p.hash)
	}
	return out, err
}
