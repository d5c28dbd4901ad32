package receipts

import (
	"bytes"
	"errors"
	"image"
	_ "image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

var msk = time.FixedZone("MSK", 3*3600)

func sampleReceipt() ReceiptData {
	return ReceiptData{
		PaymentID:       "P-2026-000123",
		Payer:           "Йорданова Алёна Сергеевна",
		PayeeName:       "УФК по г. Москве (ГУ МВД России по г. Москве)",
		PayeeINN:        "7707089101",
		PayeeKPP:        "770731005",
		BIK:             "004525988",
		BankName:        "ГУ Банка России по ЦФО//УФК по г. Москве г. Москва",
		TreasuryAccount: "03100643000000017300",
		BankAccount:     "40102810545370000003",
		KBK:             "18811601123010001140",
		OKTMO:           "45382000",
		UIN:             "18810177260000123456",
		Purpose:         "Административный штраф по постановлению № 18810177260000123456 от 20.11.2026 (ст. 12.9 ч. 2 КоАП РФ)",
		Basis:           "Постановление по делу об административном правонарушении № 18810177260000123456",
		Amount:          123456,
		Original:        246912,
		DiscountNote:    "скидка 50 % при оплате в течение 20 дней",
		PaidAt:          time.Date(2026, 12, 4, 15, 4, 5, 0, msk),
		TransactionID:   "ACQ-7f3e9a12-0001",
		Card:            "220220******1234",
		Acquirer:        "Песочница эквайера Gosid",
	}
}

// pdfText is the text of pdf as pdftotext (Debian's poppler-utils) reads
// it. Without pdftotext the test skips with a clear message, unless
// CI=true, which makes it fail.
func pdfText(t testing.TB, pdf []byte) string {
	t.Helper()
	bin := tool(t, "pdftotext")
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func tool(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (Debian's poppler-utils) is required with CI=true", name)
		}
		t.Skipf("%s not found: install poppler-utils to check the PDF's text", name)
	}
	return bin
}

// squash joins whitespace runs so that a value wrapped over two lines or
// laid out in columns still matches.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestReceipt(t *testing.T) {
	d := sampleReceipt()
	pdf, err := Receipt(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("/FontFile2")) {
		t.Fatal("not a PDF with an embedded TrueType font")
	}
	text := pdfText(t, pdf)
	if n := strings.Count(text, "\f"); n != 1 {
		t.Errorf("want one page, got %d form feeds", n)
	}
	flat := squash(text)
	for _, want := range []string{
		"Квитанция об оплате", "Оплачено",
		d.UIN, "1 234,56 руб.", d.PayeeName, d.PayeeINN, d.PayeeKPP, d.BIK, d.TreasuryAccount, d.KBK, d.OKTMO,
		d.TransactionID, d.Card, d.PaymentID,
		"04.12.2026 15:04:05 МСК",
		"2 469,12 руб.", // before the discount
		// Cyrillic, ё and Й included, as typed.
		"Йорданова Алёна Сергеевна", "Номер казначейского счёта", "Платёж",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
	// The purpose is long and wraps, but every word is there in order.
	if !strings.Contains(flat, squash(d.Purpose)) && !strings.Contains(flat, "ст. 12.9 ч. 2 КоАП РФ") {
		t.Errorf("purpose lost:\n%s", text)
	}
}

func TestReceiptDeterministic(t *testing.T) {
	a, err := Receipt(sampleReceipt())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Receipt(sampleReceipt())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("equal data gave different PDFs")
	}
	d := sampleReceipt()
	d.TransactionID = "ACQ-7f3e9a12-0002"
	c, err := Receipt(d)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Fatal("different data gave the same PDF")
	}
	// The creation date is the payment's, not the clock's.
	if !bytes.Contains(a, []byte("/CreationDate (D:20261204150405)")) {
		t.Errorf("creation date not from the data: %q", regexp.MustCompile(`/CreationDate \([^)]*\)`).Find(a))
	}
}

func TestReceiptInvalid(t *testing.T) {
	for name, mod := range map[string]func(*ReceiptData){
		"no UIN":           func(d *ReceiptData) { d.UIN = " " },
		"no payee INN":     func(d *ReceiptData) { d.PayeeINN = "" },
		"zero amount":      func(d *ReceiptData) { d.Amount = 0 },
		"negative amount":  func(d *ReceiptData) { d.Amount = -1 },
		"original too low": func(d *ReceiptData) { d.Original = d.Amount },
		"no time":          func(d *ReceiptData) { d.PaidAt = time.Time{} },
	} {
		d := sampleReceipt()
		mod(&d)
		_, err := Receipt(d)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
		// The message names fields, never the citizen's data.
		if err != nil && (strings.Contains(err.Error(), d.Payer) || strings.Contains(err.Error(), "1881")) {
			t.Errorf("%s: error leaks data: %v", name, err)
		}
	}
	// Without a discount there is no «Скидка» line.
	d := sampleReceipt()
	d.Original, d.DiscountNote = 0, ""
	pdf, err := Receipt(d)
	if err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, pdf); strings.Contains(text, "Скидка") || strings.Contains(text, "2 469,12") {
		t.Errorf("discount shown without one:\n%s", text)
	}
}

func sampleTicket() TicketData {
	krsk := time.FixedZone("KRAT", 7*3600)
	return TicketData{
		Number:    "К-0427-15",
		Service:   "Замена паспорта гражданина РФ при достижении 45 лет",
		Place:     "МФЦ «Мои документы» Советского района",
		Address:   "г. Красноярск, ул. Молокова, д. 1, корп. 1",
		Resource:  "Окно 3",
		At:        time.Date(2026, 12, 15, 9, 40, 0, 0, krsk),
		Bring:     []string{"Паспорт, подлежащий замене", "Две фотографии 35×45 мм", "Квитанция об оплате госпошлины (по желанию)"},
		Note:      "Приходите за 10 минут до начала приёма.",
		IssuedAt:  time.Date(2026, 12, 4, 15, 4, 0, 0, msk),
		Specialty: "",
	}
}

func TestTicket(t *testing.T) {
	d := sampleTicket()
	pdf, err := Ticket(d)
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	flat := squash(text)
	for _, want := range []string{"Талон на приём", d.Number, d.Place, "Окно 3", "15.12.2026 в 09:40", "МСК+4",
		"вторник, 15.12.2026 09:40 МСК+4", "ул. Молокова", "Две фотографии 35×45 мм", "Что взять с собой"} {
		if !strings.Contains(flat, want) {
			t.Errorf("ticket lacks %q:\n%s", want, text)
		}
	}
	again, err := Ticket(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pdf, again) {
		t.Fatal("equal data gave different tickets")
	}

	// The QR code, as printed: render the page and decode it.
	bin := tool(t, "pdftoppm")
	dir := t.TempDir()
	path := filepath.Join(dir, "ticket.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-r", "150", "-png", "-singlefile", path, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeQR(t, raw); got != d.Number {
		t.Fatalf("ticket QR decodes to %q, want %q", got, d.Number)
	}
}

func TestTicketDoctorAndZone(t *testing.T) {
	d := sampleTicket()
	d.Resource, d.Specialty, d.Zone, d.Bring, d.Note = "Ёлкина Ирина Юрьевна", "врач-терапевт", "время местное (Красноярск)", nil, ""
	pdf, err := Ticket(d)
	if err != nil {
		t.Fatal(err)
	}
	flat := squash(pdfText(t, pdf))
	for _, want := range []string{"Ёлкина Ирина Юрьевна, врач-терапевт", "время местное (Красноярск)"} {
		if !strings.Contains(flat, want) {
			t.Errorf("ticket lacks %q:\n%s", want, flat)
		}
	}
	if strings.Contains(flat, "Что взять с собой") {
		t.Error("empty list still titled")
	}
	d.Number = ""
	if _, err := Ticket(d); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no number: %v", err)
	}
}

func decodeQR(t testing.TB, pngData []byte) string {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("no QR code found: %v", err)
	}
	return res.GetText()
}

func TestQRPNG(t *testing.T) {
	for _, text := range []string{"К-0427-15", "https://portal.gosid.example/appointments/b/0196f3a2", strings.Repeat("9", 300)} {
		png, err := QRPNG(text, 400)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(bytes.NewReader(png))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 400 || b.Dy() != 400 {
			t.Errorf("size %v, want 400×400", b)
		}
		if got := decodeQR(t, png); got != text {
			t.Errorf("decoded %q, want %q", got, text)
		}
	}
	if _, err := QRPNG("К-0427-15", 20); !errors.Is(err, ErrQRSize) {
		t.Errorf("tiny size: %v, want ErrQRSize", err)
	}
	if _, err := QRPNG("", 200); err == nil {
		t.Error("empty text accepted")
	}
}

func TestZoneLabel(t *testing.T) {
	for off, want := range map[int]string{
		3: "МСК", 2: "МСК-1", 4: "МСК+1", 7: "МСК+4", 12: "МСК+9", 0: "UTC+00:00", -5: "UTC-05:00",
	} {
		if got := ZoneLabel(time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", off*3600))); got != want {
			t.Errorf("UTC%+d: %q, want %q", off, got, want)
		}
	}
	if got := ZoneLabel(time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 5*3600+1800))); got != "UTC+05:30" {
		t.Errorf("India: %q", got)
	}
}

func BenchmarkReceipt(b *testing.B) {
	d := sampleReceipt()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Receipt(d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}

func BenchmarkTicket(b *testing.B) {
	d := sampleTicket()
	for b.Loop() {
		if _, err := Ticket(d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
}

// FuzzReceipt: texts that come from agencies and citizens (names, the
// purpose, the basis, the booking number) never crash the renderer and
// never make it emit something that is not a PDF; invalid input is
// ErrInvalid or ErrQRText, nothing else, and the error never quotes it.
func FuzzReceipt(f *testing.F) {
	f.Add("Йорданова Алёна", "Штраф; ст. 12.9", "К-0427-15", int64(123456))
	f.Add("", "\xff\xfe", "", int64(-1))
	f.Add(strings.Repeat("Щ", 500), strings.Repeat("long purpose ", 40), strings.Repeat("9", 3000), int64(math.MaxInt64))
	f.Add("\x00\t\r\n", "(\\) )(", "\u202e\U0001F600", int64(1))
	f.Fuzz(func(t *testing.T, name, purpose, number string, amount int64) {
		d := sampleReceipt()
		d.Payer, d.Purpose, d.Amount, d.Original = name, purpose, amount, 0
		pdf, err := Receipt(d)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("receipt: %v", err)
			}
		} else if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(pdf), []byte("%%EOF")) {
			t.Fatal("receipt: not a whole PDF")
		}
		tk := sampleTicket()
		tk.Number, tk.Service, tk.Bring = number, purpose, []string{name}
		pdf, err = Ticket(tk)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrQRText) {
				t.Fatalf("ticket: %v", err)
			}
			// (Short values could occur in any message by chance.)
			if leaks := func(s string) bool { return len(s) >= 8 && strings.Contains(err.Error(), s) }; leaks(number) || leaks(purpose) {
				t.Fatalf("ticket: error quotes the data: %v", err)
			}
			return
		}
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Fatal("ticket: not a PDF")
		}
	})
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"Йорданова Алёна «№ 5» — 35×45": "Йорданова Алёна «№ 5» — 35×45",
		"a\U0001F600b":  "a?b",
		"a\r\nb\tc\x00": "a  b c ",
		"bad\xffbyte":   "bad?byte",
		"漢字":            "??",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
	// What cannot be drawn does not stop the receipt.
	d := sampleReceipt()
	d.Purpose = "Госпошлина 🙂 за паспорт"
	pdf, err := Receipt(d)
	if err != nil {
		t.Fatal(err)
	}
	if text := squash(pdfText(t, pdf)); !strings.Contains(text, "Госпошлина ? за паспорт") {
		t.Errorf("purpose not drawn with a stand-in:\n%s", text)
	}
}

func TestLimits(t *testing.T) {
	d := sampleReceipt()
	d.Purpose = strings.Repeat("я", maxField+1)
	if _, err := Receipt(d); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "Purpose") {
		t.Errorf("long purpose: %v", err)
	}
	d.Purpose = strings.Repeat("я", maxField)
	if _, err := Receipt(d); err != nil {
		t.Errorf("purpose at the limit: %v", err)
	}
	tk := sampleTicket()
	tk.Bring = make([]string, maxBring+1)
	if _, err := Ticket(tk); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many items: %v", err)
	}
	tk = sampleTicket()
	tk.Number = strings.Repeat("→", 999) // 3 bytes each: over the 2331 a QR code (M) holds
	if _, err := Ticket(tk); !errors.Is(err, ErrQRText) || strings.Contains(err.Error(), "→→→") {
		t.Errorf("number too long for a QR code: %v", err)
	}
}
