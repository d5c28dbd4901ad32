package receipts

import (
	"bufio"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// WriteCSV writes header (if not nil) and rows as CSV for a Russian Excel:
// a UTF-8 byte order mark first (without it Excel reads the file as
// Windows-1251), «;» between fields (Excel takes the list separator from
// the regional settings, and Russian settings use «;» because «,» is the
// decimal separator), CRLF after every record.
//
// A field is quoted (RFC 4180: in double quotes, inner quotes doubled) when
// it contains «;», «"», CR or LF; line breaks inside a quoted field are
// written as they are. A record of one empty field is written as `""`, so
// that it is not an empty line, which readers skip. Invalid UTF-8 is
// replaced with U+FFFD: the file declares itself UTF-8.
//
// Every field, the header's too, first goes through Defuse, so a cell that
// came from a citizen or an agency («=HYPERLINK(…)») cannot become a formula.
func WriteCSV(w io.Writer, header []string, rows [][]string) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("\uFEFF")
	if header != nil {
		writeRecord(bw, header)
	}
	for _, r := range rows {
		writeRecord(bw, r)
	}
	// bufio keeps the first write error and returns it here.
	return bw.Flush()
}

func writeRecord(w *bufio.Writer, rec []string) {
	if len(rec) == 1 && rec[0] == "" {
		w.WriteString(`""` + "\r\n")
		return
	}
	for i, f := range rec {
		if i > 0 {
			w.WriteByte(';')
		}
		f = Defuse(strings.ToValidUTF8(f, "\uFFFD"))
		if !strings.ContainsAny(f, ";\"\r\n") {
			w.WriteString(f)
			continue
		}
		w.WriteByte('"')
		w.WriteString(strings.ReplaceAll(f, `"`, `""`))
		w.WriteByte('"')
	}
	w.WriteString("\r\n")
}

// Defuse returns s prefixed with an apostrophe when a spreadsheet would
// take it for a formula (CSV injection, OWASP): when it starts with «=»,
// «+», «-», «@», TAB, CR or LF, or with the full-width «＝», «＋», «－», «＠»
// that East Asian editions of Excel also accept. The apostrophe stays
// visible in the cell: the trade-off OWASP recommends, since the cell
// still reads as the original text.
//
// The exception is a plain number — an optional «-», digits with optional
// single spaces between groups, an optional «,» or «.» and digits, as
// FormatRubles writes a negative amount («-1 234,56»): it cannot be a
// formula (there is no operator or name after the sign), and an apostrophe
// would turn the amount into text that Excel no longer sums. Amounts are
// never negative in the portal's exports, but a refund or a correction
// could be.
func Defuse(s string) string {
	if s == "" || isPlainNumber(s) {
		return s
	}
	r, _ := utf8.DecodeRuneInString(s)
	switch r {
	case '=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠':
		return "'" + s
	}
	return s
}

// isPlainNumber reports whether s is -?D( ?D)*([,.]D+)? with D a digit
// (ASCII only), that is a number and nothing a spreadsheet could evaluate.
func isPlainNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ",")
	if !hasFrac {
		intPart, frac, hasFrac = strings.Cut(s, ".")
	}
	if intPart == "" || hasFrac && (frac == "" || !allDigits(frac)) {
		return false
	}
	prevSpace := true // no leading space
	for i := 0; i < len(intPart); i++ {
		switch c := intPart[i]; {
		case c >= '0' && c <= '9':
			prevSpace = false
		case c == ' ' && !prevSpace:
			prevSpace = true
		default:
			return false
		}
	}
	return !prevSpace // no trailing space
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// PaymentRow is one line of a citizen's payment history.
type PaymentRow struct {
	// At is when the payment was made (or created, if not paid), shown in
	// its own location: convert to the citizen's zone first.
	At time.Time
	// UIN is the charge's unique identifier (УИН), 20 or 25 digits.
	UIN string
	// Kind is what was paid: «Госпошлина», «Штраф ГИБДД», «Налог»…
	Kind string
	// Purpose is the purpose of payment (Назначение платежа).
	Purpose string
	// Payee is the recipient's name.
	Payee string
	// Amount is what was paid, in kopecks.
	Amount int64
	// Status is the status as the citizen reads it: «Оплачено»,
	// «Ожидает оплаты», «Возвращено»…
	Status string
	// OperationID is the portal's payment number (Номер операции).
	OperationID string
}

// PaymentsHeader is the first row of PaymentsCSV.
var PaymentsHeader = []string{"Дата и время", "УИН", "Вид", "Назначение", "Получатель", "Сумма, ₽", "Статус", "Номер операции"}

// PaymentsCSV writes the payment history export: PaymentsHeader, then one
// record per row in the given order. The date is «ДД.ММ.ГГГГ ЧЧ:ММ» with
// the zone's label (ZoneLabel), the amount FormatRubles's «1 234,56».
//
// Known limitation of opening any CSV by a double click: Excel turns a
// 20- or 25-digit УИН into a number in exponent form; importing the file
// («Данные» → «Из текстового/CSV-файла») with the column as text keeps it.
// Writing it as a formula (="…") would keep it, but is exactly what Defuse
// forbids.
func PaymentsCSV(w io.Writer, rows []PaymentRow) error {
	recs := make([][]string, len(rows))
	for i, r := range rows {
		recs[i] = []string{
			r.At.Format("02.01.2006 15:04") + " " + ZoneLabel(r.At),
			r.UIN, r.Kind, r.Purpose, r.Payee, FormatRubles(r.Amount), r.Status, r.OperationID,
		}
	}
	return WriteCSV(w, PaymentsHeader, recs)
}
