package upload_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"codeberg.org/go-pdf/fpdf"

	"github.com/gosid/gosid/portal/upload"
)

func makePDF(t testing.TB) []byte {
	t.Helper()
	p := fpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	p.Cell(40, 10, "Income statement")
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func makeImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{200, 10, 10, 255})
	}
	return img
}

func makePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, makeImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func makeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, makeImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// makeZipBomb is an archive whose one member inflates a thousandfold.
func makeZipBomb(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, err := z.Create("passport.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 10<<20)); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withIHDR returns a copy of a PNG with its dimensions changed (and its
// IHDR checksum fixed): a decompression bomb's header.
func withIHDR(t testing.TB, p []byte, w, h uint32) []byte {
	t.Helper()
	p = bytes.Clone(p)
	ihdr := p[8:]
	if string(ihdr[4:8]) != "IHDR" {
		t.Fatal("no IHDR")
	}
	binary.BigEndian.PutUint32(ihdr[8:], w)
	binary.BigEndian.PutUint32(ihdr[12:], h)
	binary.BigEndian.PutUint32(ihdr[21:], crc32.ChecksumIEEE(ihdr[4:21]))
	return p
}

// padPDF grows a PDF to n bytes with a comment after its header line.
func padPDF(t testing.TB, pdf []byte, n int) []byte {
	t.Helper()
	nl := bytes.IndexByte(pdf, '\n') + 1
	pad := n - len(pdf) - 2
	if pad < 0 {
		t.Fatalf("PDF of %d bytes cannot be padded to %d", len(pdf), n)
	}
	out := append([]byte{}, pdf[:nl]...)
	out = append(out, '%')
	out = append(out, bytes.Repeat([]byte{'x'}, pad)...)
	out = append(out, '\n')
	out = append(out, pdf[nl:]...)
	if len(out) != n {
		t.Fatalf("padded to %d, want %d", len(out), n)
	}
	return out
}

func code(err error) string {
	var e *upload.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return "not an *upload.Error: " + err.Error()
	}
	return ""
}

func TestCheckAccepts(t *testing.T) {
	pdf, pngb, jpg := makePDF(t), makePNG(t, 30, 20), makeJPEG(t, 30, 20)
	for _, c := range []struct {
		name string
		data []byte
		want upload.File
	}{
		{"Справка о доходах.pdf", pdf, upload.File{Name: "Spravka_o_dokhodakh.pdf", Type: upload.PDF}},
		{"scan.PDF", pdf, upload.File{Name: "scan.pdf", Type: upload.PDF}},
		{"photo.jpeg", jpg, upload.File{Name: "photo.jpg", Type: upload.JPEG, Width: 30, Height: 20}},
		{"IMG_0001.JPG", jpg, upload.File{Name: "IMG_0001.jpg", Type: upload.JPEG, Width: 30, Height: 20}},
		{"Паспорт стр. 2-3.png", pngb, upload.File{Name: "Pasport_str_2-3.png", Type: upload.PNG, Width: 30, Height: 20}},
		{"Справка от 01.02.2024", pdf, upload.File{Name: "Spravka_ot_01_02_2024.pdf", Type: upload.PDF}},
		{"no extension", pngb, upload.File{Name: "no_extension.png", Type: upload.PNG, Width: 30, Height: 20}},
		{"../../etc/passwd", pdf, upload.File{Name: "passwd.pdf", Type: upload.PDF}},
		{`C:\Users\Иван\Documents\y.pdf`, pdf, upload.File{Name: "y.pdf", Type: upload.PDF}},
		{"", pdf, upload.File{Name: "file.pdf", Type: upload.PDF}},
		{"☺ ✓.pdf", pdf, upload.File{Name: "file.pdf", Type: upload.PDF}},
		{"Заявление №5.pdf", pdf, upload.File{Name: "Zaiavlenie_No5.pdf", Type: upload.PDF}},
	} {
		got, err := upload.Check("documents", c.name, c.data)
		if err != nil {
			t.Errorf("Check(%q): %v", c.name, err)
			continue
		}
		c.want.Size = int64(len(c.data))
		if got != c.want {
			t.Errorf("Check(%q) = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	pdf, pngb, jpg := makePDF(t), makePNG(t, 30, 20), makeJPEG(t, 30, 20)
	html := []byte("<!doctype html><html><script>alert(1)</script></html>")
	for _, c := range []struct {
		what, name string
		data       []byte
		code       string
	}{
		{"empty file", "a.pdf", nil, "empty"},
		{"zip bomb renamed .pdf", "passport.pdf", makeZipBomb(t), "type"},
		{"HTML renamed .png", "photo.png", html, "type"},
		{"SVG", "photo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), "type"},
		{"plain text", "a.txt", []byte("hello"), "type"},
		{"PNG named .pdf", "passport.pdf", pngb, "extension"},
		{"PDF named .jpg", "photo.jpg", pdf, "extension"},
		{"JPEG named .png", "photo.png", jpg, "extension"},
		{"PDF named .docx", "report.docx", pdf, "extension"},
		{"PDF named .html", "page.html", pdf, "extension"},
		{"PDF cut before %%EOF", "a.pdf", pdf[:len(pdf)-200], "damaged"},
		{"PDF header only", "a.pdf", []byte("%PDF-1.7\n"), "damaged"},
		{"PNG cut midway", "a.png", pngb[:len(pngb)/2], "damaged"},
		{"PNG with a zip behind it", "a.png", append(bytes.Clone(pngb), makeZipBomb(t)...), "damaged"},
		{"PNG with a broken checksum", "a.png", flip(pngb, len(pngb)-20), "damaged"},
		{"JPEG cut after its header", "a.jpg", jpg[:200], "damaged"},
		{"PNG bomb 100000×100000", "bomb.png", withIHDR(t, pngb, 100000, 100000), "image_too_large"},
		{"PNG 10001 wide", "wide.png", withIHDR(t, pngb, 10001, 1), "image_too_large"},
		{"PNG 8000×8000 (64 MP)", "big.png", withIHDR(t, pngb, 8000, 8000), "image_too_large"},
	} {
		_, err := upload.Check("documents", c.name, c.data)
		if got := code(err); got != c.code {
			t.Errorf("%s: code %q (%v), want %q", c.what, got, err, c.code)
			continue
		}
		var e *upload.Error
		errors.As(err, &e)
		if e.Field != "documents" || e.Text[0] == "" || e.Text[1] == "" || e.Text[0] == e.Text[1] {
			t.Errorf("%s: error %+v lacks the field or a language", c.what, e)
		}
		if strings.Contains(err.Error(), c.name) && c.name != "" {
			t.Errorf("%s: Error() repeats the file's name: %q", c.what, err)
		}
	}
	// A PNG at the limits is accepted (its header says so; the pixels are
	// not decoded).
	if f, err := upload.Check("documents", "a.png", withIHDR(t, pngb, 10000, 5000)); err != nil || f.Width != 10000 {
		t.Errorf("PNG 10000×5000: %+v, %v", f, err)
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x40
	return b
}

// The limit is 5 MB = 5·2^20 bytes: exactly that is accepted, one byte more
// refused, both by Check and by Read, which stops reading there.
func TestSizeLimit(t *testing.T) {
	pdf := makePDF(t)
	exact := padPDF(t, pdf, upload.MaxFileSize)
	if f, err := upload.Check("documents", "a.pdf", exact); err != nil || f.Size != 5*1024*1024 {
		t.Fatalf("5 MB exactly: %+v, %v", f, err)
	}
	over := padPDF(t, pdf, upload.MaxFileSize+1)
	_, err := upload.Check("documents", "a.pdf", over)
	if code(err) != "too_large" {
		t.Fatalf("5 MB + 1 byte: %v", err)
	}
	var e *upload.Error
	errors.As(err, &e)
	if !strings.Contains(e.Text[0], "5 МБ (5 242 880 байт)") || !strings.Contains(e.Text[1], "5 MB (5,242,880 bytes)") {
		t.Fatalf("the message does not name the limit: %q", e.Text)
	}
	if data, err := upload.Read("documents", bytes.NewReader(exact)); err != nil || len(data) != len(exact) {
		t.Fatalf("Read of 5 MB: %d bytes, %v", len(data), err)
	}
	body := &countingReader{r: bytes.NewReader(make([]byte, 50<<20))}
	if _, err := upload.Read("documents", body); code(err) != "too_large" {
		t.Fatalf("Read of 50 MB: %v", err)
	}
	if body.n > upload.MaxFileSize+1+32<<10 {
		t.Fatalf("Read consumed %d bytes of a 50 MB body", body.n)
	}
}

type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestCheckTotal(t *testing.T) {
	if err := upload.CheckTotal("documents", 15<<20, 5<<20); err != nil {
		t.Fatalf("20 MB in total: %v", err)
	}
	err := upload.CheckTotal("documents", 15<<20, 5<<20+1)
	if code(err) != "total_too_large" || !errors.Is(err, &upload.Error{Code: "total_too_large"}) {
		t.Fatalf("20 MB + 1 byte in total: %v", err)
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"Справка о доходах.pdf":         "Spravka_o_dokhodakh.pdf",
		"Щука Ёж Юла Яма Цирк Хлеб.pdf": "Shchuka_Ezh_Iula_Iama_Tsirk_Khleb.pdf",
		"ЖКХ.pdf": "ZHKKH.pdf",
		"подъезд объём семья.pdf":         "podieezd_obieem_semia.pdf",
		"Йошкар-Ола.pdf":                  "Ioshkar-Ola.pdf",
		"Crème brûlée.pdf":                "Creme_brulee.pdf",
		"  --a   b__c--  .pdf":            "a_b_c.pdf",
		"a/b/../..":                       "file.pdf",
		"..":                              "file.pdf",
		"résumé\x00.pdf":                  "resume.pdf",
		"ＦＵＬＬｗｉｄｔｈ.pdf":                   "FULLwidth.pdf",
		strings.Repeat("я", 200) + ".pdf": strings.Repeat("ia", 50) + ".pdf",
	} {
		if got := upload.Name(in, upload.PDF); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}
