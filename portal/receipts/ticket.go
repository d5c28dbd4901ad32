package receipts

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// TicketData is everything an appointment ticket shows.
type TicketData struct {
	// Number is the booking number, printed large and encoded in the QR
	// code that the place's terminal or operator scans.
	Number string
	// Service is what the visit is for.
	Service string
	// Place is the place's name, Address its address.
	Place, Address string
	// Resource is who or what receives the citizen: «Окно 3», or a
	// doctor's name; Specialty the doctor's specialty (optional).
	Resource, Specialty string
	// At is the time of the visit, in the place's zone.
	At time.Time
	// Zone labels At's zone: «МСК+4» or a city («время местное,
	// Красноярск»); empty means ZoneLabel(At).
	Zone string
	// Bring is what to bring: short items, one a line (optional).
	Bring []string
	// Note is a last line (e.g. «Приходите за 10 минут до начала
	// приёма»), optional.
	Note string
	// IssuedAt is when the ticket is produced and the PDF's creation
	// date; zero means At.
	IssuedAt time.Time
}

// maxBring is the most «what to bring» items a ticket lists: the page has
// room for about that many.
const maxBring = 12

// A5 portrait, mm.
const (
	a5W      = 148.0
	a5Margin = 12.0
	// ticketQRPixels is the QR image's side: the PDF scales it to
	// ticketQRmm, so modules are sharp at print resolution.
	ticketQRPixels = 480
	ticketQRmm     = 40.0
)

// Ticket renders the appointment ticket («Талон на приём»): one A5 page in
// Russian with the booking number large, a QR code of it, the service, the
// place and its address, the window or the doctor, the date and time with
// the zone, and what to bring. Missing required fields, texts over 1000
// characters and more than 12 items to bring are ErrInvalid; a number too
// long for a QR code is ErrQRText.
// Equal data give equal bytes.
func Ticket(t TicketData) ([]byte, error) {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"Number", t.Number}, {"Service", t.Service}, {"Place", t.Place}, {"Address", t.Address}, {"Resource", t.Resource},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing %s", ErrInvalid, strings.Join(missing, ", "))
	}
	if t.At.IsZero() {
		return nil, fmt.Errorf("%w: missing At", ErrInvalid)
	}
	fields := map[string]string{"Number": t.Number, "Service": t.Service, "Place": t.Place, "Address": t.Address,
		"Resource": t.Resource, "Specialty": t.Specialty, "Zone": t.Zone, "Note": t.Note}
	for i, b := range t.Bring {
		fields[fmt.Sprintf("Bring[%d]", i)] = b
	}
	if err := checkText(fields); err != nil {
		return nil, err
	}
	if len(t.Bring) > maxBring {
		return nil, fmt.Errorf("%w: more than %d Bring items", ErrInvalid, maxBring)
	}
	issued := t.IssuedAt
	if issued.IsZero() {
		issued = t.At
	}
	zone := t.Zone
	if zone == "" {
		zone = ZoneLabel(t.At)
	}
	// The QR code carries the number as given; the printed texts lose
	// what the fonts cannot draw.
	qrPNG, err := QRPNG(t.Number, ticketQRPixels)
	if err != nil {
		return nil, fmt.Errorf("ticket QR: %w", err)
	}
	for _, f := range []*string{&t.Number, &t.Service, &t.Place, &t.Address, &t.Resource, &t.Specialty, &t.Zone, &t.Note} {
		*f = printable(*f)
	}
	bring := make([]string, len(t.Bring))
	for i, b := range t.Bring {
		bring[i] = printable(b)
	}
	t.Bring = bring

	p := newPDF("P", "A5", a5Margin, "Талон на приём № "+t.Number, issued)
	p.AddPage()
	w := a5W - 2*a5Margin

	p.SetFont(font, "", 8)
	p.SetTextColor(90, 90, 90)
	p.CellFormat(w, 4, "Gosid · Портал государственных услуг", "", 1, "L", false, 0, "")
	p.SetTextColor(0, 0, 0)
	p.Ln(2)
	p.SetFont(font, "B", 16)
	p.CellFormat(w, 8, "Талон на приём", "", 1, "L", false, 0, "")

	// The number, large, beside the QR code.
	top := p.GetY() + 2
	p.RegisterImageOptionsReader("qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(qrPNG))
	p.ImageOptions("qr", a5Margin+w-ticketQRmm, top, ticketQRmm, ticketQRmm, false,
		fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	p.SetXY(a5Margin, top+2)
	p.SetFont(font, "", 9)
	p.CellFormat(w-ticketQRmm-4, 5, "Номер талона", "", 2, "L", false, 0, "")
	p.SetFont(font, "B", fitSize(p, t.Number, w-ticketQRmm-4, 30, 12))
	p.CellFormat(w-ticketQRmm-4, 14, t.Number, "", 2, "L", false, 0, "")
	p.SetFont(font, "B", 12)
	p.CellFormat(w-ticketQRmm-4, 6, t.At.Format("02.01.2006")+" в "+t.At.Format("15:04"), "", 2, "L", false, 0, "")
	p.SetFont(font, "", 9)
	p.CellFormat(w-ticketQRmm-4, 5, zone, "", 2, "L", false, 0, "")
	p.SetXY(a5Margin, top+ticketQRmm+4)

	tb := table{p: p, x: a5Margin, labelW: 34, valW: w - 34, size: 9.5, lineH: 4.8}
	tb.row("Услуга", t.Service)
	tb.row("Место приёма", t.Place)
	tb.row("Адрес", t.Address)
	res := t.Resource
	if t.Specialty != "" {
		res += ", " + t.Specialty
	}
	tb.row("Кто принимает", res)
	tb.row("Дата и время", weekday(t.At)+", "+t.At.Format("02.01.2006 15:04")+" "+zone)

	if len(t.Bring) > 0 {
		p.Ln(3)
		p.SetFont(font, "B", 10)
		p.CellFormat(w, 6, "Что взять с собой", "", 1, "L", false, 0, "")
		p.SetFont(font, "", 9.5)
		for _, b := range t.Bring {
			p.SetX(a5Margin + 2)
			p.MultiCell(w-2, 4.8, "• "+b, "", "L", false)
		}
	}
	if t.Note != "" {
		p.Ln(3)
		p.SetFont(font, "", 9)
		p.MultiCell(w, 4.5, t.Note, "", "L", false)
	}
	p.SetY(-a5Margin - 5)
	p.SetFont(font, "", 7.5)
	p.SetTextColor(90, 90, 90)
	p.CellFormat(w, 4, "Талон сформирован "+issued.Format("02.01.2006 15:04")+" "+ZoneLabel(issued)+
		". Покажите номер или QR-код при входе.", "", 1, "L", false, 0, "")
	return output(p)
}

// fitSize is the largest font size from max down to min at which s fits
// in width w.
func fitSize(p *fpdf.Fpdf, s string, w, maxSize, minSize float64) float64 {
	for size := maxSize; size > minSize; size -= 2 {
		p.SetFont(font, "B", size)
		if p.GetStringWidth(s) <= w {
			return size
		}
	}
	return minSize
}

var weekdays = [...]string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"}

func weekday(t time.Time) string { return weekdays[t.Weekday()] }
