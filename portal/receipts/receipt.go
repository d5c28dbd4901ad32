package receipts

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalid is wrapped by Receipt and Ticket when a required field is
// missing or inconsistent; the message names the field, never its value.
var ErrInvalid = errors.New("receipts: invalid document data")

// ReceiptData is everything a payment receipt shows. The caller fills it
// from its own records; nothing is looked up here.
type ReceiptData struct {
	// PaymentID is the portal's payment number.
	PaymentID string
	// Payer is the payer's full name (ФИО).
	Payer string
	// PayerINN is the payer's ИНН, if the charge names it (optional).
	PayerINN string

	// The payee (получатель): the agency as the Treasury knows it.
	PayeeName       string
	PayeeINN        string
	PayeeKPP        string
	BIK             string // БИК of the payee's bank (ТОФК)
	BankName        string
	TreasuryAccount string // казначейский счёт (03100…)
	BankAccount     string // единый казначейский счёт (40102…), optional
	KBK             string
	OKTMO           string

	// UIN is the charge's unique identifier (УИН).
	UIN string
	// Purpose is the purpose of payment (Назначение платежа).
	Purpose string
	// Basis is the legal basis of the charge (a decision's number and
	// date, an article of a code), optional.
	Basis string

	// Amount is what was paid, in kopecks (> 0).
	Amount int64
	// Original is the charge before the discount, in kopecks; 0 when there
	// was no discount. When set it must be greater than Amount.
	Original int64
	// DiscountNote says why there was a discount (e.g. «Скидка 50 % при
	// оплате в течение 20 дней»), optional.
	DiscountNote string

	// PaidAt is when the acquirer confirmed the payment, in the zone to
	// show (the citizen's, usually Moscow time).
	PaidAt time.Time
	// Zone labels PaidAt's zone; empty means ZoneLabel(PaidAt) («МСК»).
	Zone string
	// TransactionID is the acquirer's identifier of the operation.
	TransactionID string
	// Card is the masked card number (e.g. «220220******1234»), optional.
	Card string
	// Acquirer is the bank that took the payment, optional.
	Acquirer string

	// IssuedAt is when the receipt is produced; zero means PaidAt. It is
	// also the PDF's creation date, so equal data give equal bytes.
	IssuedAt time.Time
}

// maxField is the longest text a document accepts, in runes: far above any
// real value (a purpose of payment is at most 210 characters by the
// Treasury's rules), low enough that a runaway value cannot make a
// many-page document or a slow request.
const maxField = 1000

// checkText returns ErrInvalid naming the first field over maxField.
func checkText(fields map[string]string) error {
	var long []string
	for name, v := range fields {
		if utf8.RuneCountInString(v) > maxField {
			long = append(long, name)
		}
	}
	if len(long) > 0 {
		slices.Sort(long)
		return fmt.Errorf("%w: too long %s", ErrInvalid, strings.Join(long, ", "))
	}
	return nil
}

func (r *ReceiptData) check() error {
	if err := checkText(map[string]string{
		"PaymentID": r.PaymentID, "Payer": r.Payer, "PayerINN": r.PayerINN, "PayeeName": r.PayeeName, "PayeeINN": r.PayeeINN,
		"PayeeKPP": r.PayeeKPP, "BIK": r.BIK, "BankName": r.BankName, "TreasuryAccount": r.TreasuryAccount,
		"BankAccount": r.BankAccount, "KBK": r.KBK, "OKTMO": r.OKTMO, "UIN": r.UIN, "Purpose": r.Purpose, "Basis": r.Basis,
		"DiscountNote": r.DiscountNote, "Zone": r.Zone, "TransactionID": r.TransactionID, "Card": r.Card, "Acquirer": r.Acquirer,
	}); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"PaymentID", r.PaymentID}, {"Payer", r.Payer}, {"PayeeName", r.PayeeName}, {"PayeeINN", r.PayeeINN},
		{"PayeeKPP", r.PayeeKPP}, {"BIK", r.BIK}, {"BankName", r.BankName}, {"TreasuryAccount", r.TreasuryAccount},
		{"KBK", r.KBK}, {"OKTMO", r.OKTMO}, {"UIN", r.UIN}, {"Purpose", r.Purpose}, {"TransactionID", r.TransactionID},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrInvalid, strings.Join(missing, ", "))
	}
	switch {
	case r.Amount <= 0:
		return fmt.Errorf("%w: Amount must be positive", ErrInvalid)
	case r.Original != 0 && r.Original <= r.Amount:
		return fmt.Errorf("%w: Original must exceed Amount when set", ErrInvalid)
	case r.PaidAt.IsZero():
		return fmt.Errorf("%w: missing PaidAt", ErrInvalid)
	}
	return nil
}

// A4 portrait, mm.
const (
	a4W      = 210.0
	a4Margin = 18.0
)

// Receipt renders the payment receipt («Квитанция об оплате»): one A4
// page in Russian with the payer, the payee's Treasury details, the УИН,
// purpose and basis, the amount (with the discount, if any), the time of
// payment with its zone, the acquirer's operation, the masked card, the
// portal's payment number and the status «Оплачено». Missing required
// fields are ErrInvalid. Equal data give equal bytes.
func Receipt(r ReceiptData) ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	for _, f := range []*string{&r.PaymentID, &r.Payer, &r.PayerINN, &r.PayeeName, &r.PayeeINN, &r.PayeeKPP, &r.BIK,
		&r.BankName, &r.TreasuryAccount, &r.BankAccount, &r.KBK, &r.OKTMO, &r.UIN, &r.Purpose, &r.Basis,
		&r.DiscountNote, &r.Zone, &r.TransactionID, &r.Card, &r.Acquirer} {
		*f = printable(*f)
	}
	issued := r.IssuedAt
	if issued.IsZero() {
		issued = r.PaidAt
	}
	zone := r.Zone
	if zone == "" {
		zone = ZoneLabel(r.PaidAt)
	}
	paidAt := r.PaidAt.Format("02.01.2006 15:04:05") + " " + zone

	p := newPDF("P", "A4", a4Margin, "Квитанция об оплате № "+r.PaymentID, issued)
	p.AddPage()
	w := a4W - 2*a4Margin

	p.SetFont(font, "", 9)
	p.SetTextColor(90, 90, 90)
	p.CellFormat(w, 5, "Gosid · Портал государственных услуг", "", 1, "L", false, 0, "")
	p.SetTextColor(0, 0, 0)
	p.Ln(3)
	p.SetFont(font, "B", 18)
	p.CellFormat(w, 9, "Квитанция об оплате", "", 1, "L", false, 0, "")
	p.SetFont(font, "", 11)
	p.CellFormat(w, 6, "Платёж № "+r.PaymentID+" от "+r.PaidAt.Format("02.01.2006"), "", 1, "L", false, 0, "")

	// The status and the amount, boxed: what a cashier or an officer looks
	// for first.
	p.Ln(4)
	y := p.GetY()
	p.SetDrawColor(0, 120, 60)
	p.SetLineWidth(0.5)
	p.Rect(a4Margin, y, w, 20, "D")
	p.SetLineWidth(0.2)
	p.SetXY(a4Margin+4, y+3)
	p.SetFont(font, "B", 14)
	p.SetTextColor(0, 120, 60)
	p.CellFormat(60, 7, "Оплачено", "", 0, "L", false, 0, "")
	p.SetTextColor(0, 0, 0)
	p.SetXY(a4Margin+4, y+11)
	p.SetFont(font, "", 10)
	p.CellFormat(80, 6, paidAt, "", 0, "L", false, 0, "")
	p.SetXY(a4Margin+w-94, y+4)
	p.SetFont(font, "B", 20)
	p.CellFormat(90, 10, FormatRubles(r.Amount)+" руб.", "", 0, "R", false, 0, "")
	p.SetXY(a4Margin, y+24)

	t := table{p: p, x: a4Margin, labelW: 62, valW: w - 62, size: 10, lineH: 5.2}
	t.heading("Плательщик")
	t.row("ФИО плательщика", r.Payer)
	if r.PayerINN != "" {
		t.row("ИНН плательщика", r.PayerINN)
	}

	t.heading("Получатель платежа")
	t.row("Наименование получателя", r.PayeeName)
	t.row("ИНН получателя", r.PayeeINN)
	t.row("КПП получателя", r.PayeeKPP)
	t.row("Банк получателя", r.BankName)
	t.row("БИК банка получателя", r.BIK)
	t.row("Номер казначейского счёта", r.TreasuryAccount)
	if r.BankAccount != "" {
		t.row("Единый казначейский счёт", r.BankAccount)
	}
	t.row("КБК", r.KBK)
	t.row("ОКТМО", r.OKTMO)

	t.heading("Платёж")
	t.row("УИН", r.UIN)
	t.row("Назначение платежа", r.Purpose)
	if r.Basis != "" {
		t.row("Основание платежа", r.Basis)
	}
	if r.Original != 0 {
		t.row("Сумма начисления", FormatRubles(r.Original)+" руб.")
		disc := FormatRubles(r.Original-r.Amount) + " руб."
		if r.DiscountNote != "" {
			disc += " (" + r.DiscountNote + ")"
		}
		t.row("Скидка", disc)
	}
	t.row("Сумма платежа", FormatRubles(r.Amount)+" руб.")
	t.row("Дата и время оплаты", paidAt)
	t.row("Статус", "Оплачено")

	t.heading("Операция")
	t.row("Номер платежа на портале", r.PaymentID)
	t.row("Идентификатор операции", r.TransactionID)
	if r.Acquirer != "" {
		t.row("Банк-эквайер", r.Acquirer)
	}
	if r.Card != "" {
		t.row("Карта", r.Card)
	}

	p.SetY(-a4Margin - 14)
	p.SetFont(font, "", 8)
	p.SetTextColor(90, 90, 90)
	p.MultiCell(w, 4, "Квитанция сформирована на портале Gosid "+issued.Format("02.01.2006 в 15:04")+" "+ZoneLabel(issued)+
		" по данным банка, принявшего платёж.", "", "L", false)
	return output(p)
}
