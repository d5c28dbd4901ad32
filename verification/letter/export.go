package letter

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/gosid/gosid/internal/sqldb"
)

// Batch is what one export wrote.
type Batch struct {
	// Letters is how many letters it holds (0: nothing was waiting, no
	// files written).
	Letters int
	// PDF is the printable letters, Register the register of registered
	// mail for the post office (CSV).
	PDF, Register string
}

// Export makes the codes of every letter waiting for export, writes the
// letters (PDF, one a page) and the post office's register (CSV) into dir,
// then records the codes' hashes and marks the letters exported in one
// transaction. The files are written atomically (a temporary file synced
// and linked into place, never over an existing file); if writing them or
// the transaction fails, the files are removed and the letters stay
// ordered, so the next export prints them with new codes. site is the
// public URL the letters send the citizen to.
func Export(ctx context.Context, st *Store, dir, site string, now time.Time) (*Batch, error) {
	ls, err := st.Ordered(ctx)
	if err != nil {
		return nil, err
	}
	if len(ls) == 0 {
		return &Batch{}, nil
	}
	codes := make(map[string]string, len(ls))
	for _, l := range ls {
		codes[l.ID] = newCode()
	}
	var pdf, reg bytes.Buffer
	if err := writePDF(&pdf, ls, codes, site, now); err != nil {
		return nil, fmt.Errorf("letters PDF: %w", err)
	}
	if err := writeRegister(&reg, ls); err != nil {
		return nil, fmt.Errorf("register CSV: %w", err)
	}
	name := "letters-" + now.In(moscow).Format("20060102-150405")
	b := &Batch{Letters: len(ls), PDF: filepath.Join(dir, name+".pdf"), Register: filepath.Join(dir, name+"-register.csv")}
	if err := writeFileAtomic(b.PDF, pdf.Bytes()); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(b.Register, reg.Bytes()); err != nil {
		return nil, errors.Join(err, os.Remove(b.PDF))
	}
	err = st.Exported(ctx, codes)
	if errors.Is(err, sqldb.ErrCommitUnknown) {
		// The codes may be stored: without the files those letters could
		// never be printed again; with them, the operator checks.
		return nil, fmt.Errorf("the database did not confirm the export; the files are kept (%s, %s): "+
			"if `gosid letters list --status ordered` still lists these letters, destroy the files and export again: %w", b.PDF, b.Register, err)
	}
	if err != nil {
		// The printed codes were never stored: the letters must not go.
		return nil, errors.Join(fmt.Errorf("record the export (the files were removed, the letters stay ordered): %w", err),
			os.Remove(b.PDF), os.Remove(b.Register))
	}
	return b, nil
}

// writeFileAtomic writes data to path, which must not exist: into a
// temporary file of the same directory, synced, then linked to path (which
// fails if path exists), then the directory synced.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".letters-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() { err = errors.Join(err, ignoreMissing(os.Remove(tmp))) }()
	if _, err := f.Write(data); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

func ignoreMissing(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Fonts: Go's own (golang.org/x/image/font/gofont), which cover Cyrillic
// (WGL4), embedded into the PDF as subsets.
const (
	font     = "Go"
	pageW    = 210.0 // A4, mm
	margin   = 20.0
	contentW = pageW - 2*margin
)

// writePDF writes the letters, one a page: the recipient block at the
// envelope's window, the code large, how and until when to enter it.
func writePDF(w io.Writer, ls []ToExport, codes map[string]string, site string, now time.Time) error {
	p := fpdf.New("P", "mm", "A4", "")
	p.AddUTF8FontFromBytes(font, "", goregular.TTF)
	p.AddUTF8FontFromBytes(font, "B", gobold.TTF)
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(true, margin)
	p.SetTitle("Коды подтверждения личности", true)
	p.SetCreator("Gosid", true)
	p.SetCreationDate(now)
	p.SetModificationDate(now)
	page := strings.TrimSuffix(site, "/") + "/account/confirm/letter"
	for _, l := range ls {
		p.AddPage()
		p.SetFont(font, "B", 12)
		p.CellFormat(contentW, 6, "Gosid — единая система идентификации", "", 1, "L", false, 0, "")
		p.SetFont(font, "", 9)
		p.CellFormat(contentW, 5, "Заказное письмо · уведомление о коде подтверждения личности", "", 1, "L", false, 0, "")
		// The recipient, where a window envelope (DL, right) shows it.
		p.SetXY(105, 50)
		p.SetFont(font, "", 11)
		p.CellFormat(85, 6, "Кому: "+l.Recipient.Name(), "", 2, "L", false, 0, "")
		for _, line := range l.Recipient.Address.Lines() {
			p.MultiCell(85, 6, line, "", "L", false)
			p.SetX(105)
		}
		p.SetXY(margin, 105)
		p.SetFont(font, "B", 14)
		p.CellFormat(contentW, 8, "Код подтверждения личности", "", 1, "L", false, 0, "")
		p.SetFont(font, "", 11)
		p.MultiCell(contentW, 6, "Здравствуйте, "+strings.TrimSpace(l.Recipient.Given+" "+l.Recipient.Middle)+
			"! Вы заказали код для подтверждения личности в Gosid. Ваш код:", "", "L", false)
		p.Ln(4)
		p.SetFont(font, "B", 36)
		p.CellFormat(contentW, 18, codes[l.ID], "1", 1, "C", false, 0, "")
		p.Ln(4)
		p.SetFont(font, "", 11)
		for _, s := range []string{
			"Как ввести код: войдите в личный кабинет Gosid на странице " + page + " (или откройте «Профиль» → «Подтверждение личности» → «Код подтверждения письмом») и введите код в поле «Код из письма».",
			"Код действует 30 дней с даты отправки письма. Неверный код можно ввести не больше 3 раз, после этого код перестанет действовать.",
			"После ввода кода учётная запись станет подтверждённой.",
			"Никому не сообщайте код. Сотрудники Gosid, почты и банков никогда его не спрашивают. Если вы не заказывали это письмо, не вводите код и обратитесь в службу поддержки.",
		} {
			p.MultiCell(contentW, 6, s, "", "L", false)
			p.Ln(2)
		}
		p.SetY(-35)
		p.SetFont(font, "", 8)
		p.CellFormat(contentW, 4, "Письмо № "+l.ID+" · заказано "+l.OrderedAt.In(moscow).Format("02.01.2006"), "", 1, "L", false, 0, "")
	}
	if err := p.Error(); err != nil {
		return err
	}
	return p.Output(w)
}

// RegisterHeader is the register's first row.
var RegisterHeader = []string{"№ п/п", "ФИО адресата", "Индекс", "Адрес", "Вид РПО", "Идентификатор письма"}

// writeRegister writes the register of registered mail: UTF-8 CSV (with a
// BOM, for spreadsheets), one row per letter in the PDF's order.
func writeRegister(w io.Writer, ls []ToExport) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(RegisterHeader); err != nil {
		return err
	}
	for i, l := range ls {
		a := l.Recipient.Address
		if err := cw.Write([]string{strconv.Itoa(i + 1), l.Recipient.Name(), a.Index, a.Region + ", " + a.City + ", " + a.Lines()[0],
			"заказное письмо", l.ID}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
