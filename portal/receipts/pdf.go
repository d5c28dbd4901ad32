package receipts

import (
	"bytes"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// The fonts are Go's own (golang.org/x/image/font/gofont): they cover
// Cyrillic (WGL4), ship inside the binary and are embedded into each PDF as
// subsets, so no font is needed on the machine and the output does not
// depend on one.
const font = "Go"

// newPDF starts a document whose every date comes from the data (at), so
// that equal input gives equal bytes.
func newPDF(orientation, size string, margin float64, title string, at time.Time) *fpdf.Fpdf {
	p := fpdf.New(orientation, "mm", size, "")
	p.AddUTF8FontFromBytes(font, "", goregular.TTF)
	p.AddUTF8FontFromBytes(font, "B", gobold.TTF)
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(false, margin)
	p.SetTitle(title, true)
	p.SetCreator("Gosid", true)
	p.SetProducer("Gosid", true)
	p.SetLang("ru-RU")
	p.SetCreationDate(at)
	p.SetModificationDate(at)
	p.SetCatalogSort(true)
	return p
}

// output finishes p, reporting the first error met while drawing.
func output(p *fpdf.Fpdf) ([]byte, error) {
	if err := p.Error(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// table draws two-column rows, the label on the left in grey, the value on
// the right, both wrapping; a row is as high as its longer side.
type table struct {
	p               *fpdf.Fpdf
	x, labelW, valW float64
	size, lineH     float64
}

func (t table) row(label, value string) {
	p := t.p
	p.SetFont(font, "", t.size)
	ll := p.SplitText(label, t.labelW-2)
	vl := p.SplitText(value, t.valW)
	n := max(len(ll), len(vl), 1)
	y := p.GetY()
	p.SetTextColor(90, 90, 90)
	for i, l := range ll {
		p.SetXY(t.x, y+float64(i)*t.lineH)
		p.CellFormat(t.labelW-2, t.lineH, l, "", 0, "L", false, 0, "")
	}
	p.SetTextColor(0, 0, 0)
	for i, l := range vl {
		p.SetXY(t.x+t.labelW, y+float64(i)*t.lineH)
		p.CellFormat(t.valW, t.lineH, l, "", 0, "L", false, 0, "")
	}
	y += float64(n)*t.lineH + 1
	p.SetDrawColor(220, 220, 220)
	p.Line(t.x, y-0.5, t.x+t.labelW+t.valW, y-0.5)
	p.SetXY(t.x, y)
}

// heading draws a section's title in bold.
func (t table) heading(s string) {
	p := t.p
	p.Ln(2)
	p.SetX(t.x)
	p.SetFont(font, "B", t.size+1)
	p.CellFormat(t.labelW+t.valW, t.lineH+1, s, "", 1, "L", false, 0, "")
	p.SetDrawColor(0, 0, 0)
	p.Line(t.x, p.GetY(), t.x+t.labelW+t.valW, p.GetY())
	p.Ln(1)
}
