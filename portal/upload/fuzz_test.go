package upload_test

import (
	"bytes"
	"errors"
	"image/jpeg"
	"image/png"
	"regexp"
	"strings"
	"testing"

	"github.com/gosid/gosid/portal/upload"
)

// safeName is the product's rule for a stored name: Latin letters, digits,
// "_" and "-", then one of our extensions.
var safeName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}\.(pdf|jpg|png)$`)

func checkSafe(t *testing.T, in, got string) {
	t.Helper()
	if !safeName.MatchString(got) || strings.Contains(got, "..") || strings.ContainsAny(got, `/\`) ||
		strings.HasPrefix(got, "-") || strings.HasPrefix(got, "_") {
		t.Fatalf("name %q normalised to %q", in, got)
	}
}

// FuzzCheck feeds the content check whatever a citizen might upload: it
// must not panic, refuse only with *upload.Error, and accept only a file
// that is what it says (a PDF's markers, an image whose header decodes
// within the limits), under a safe name.
func FuzzCheck(f *testing.F) {
	for _, seed := range [][]byte{
		makePDF(f), makePNG(f, 3, 2), makeJPEG(f, 3, 2), withIHDR(f, makePNG(f, 3, 2), 100000, 100000),
		[]byte("PK\x03\x04"), []byte("<html>"), []byte("%PDF-1.4\n%%EOF"), {},
	} {
		f.Add("Справка.pdf", seed)
		f.Add("../x.png", seed)
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		file, err := upload.Check("documents", name, data)
		if err != nil {
			var e *upload.Error
			if !errors.As(err, &e) || e.Field != "documents" || e.Text[0] == "" || e.Text[1] == "" {
				t.Fatalf("refusal %v is not a complete *upload.Error", err)
			}
			return
		}
		checkSafe(t, name, file.Name)
		if file.Size != int64(len(data)) || len(data) == 0 || len(data) > upload.MaxFileSize {
			t.Fatalf("accepted %d bytes as size %d", len(data), file.Size)
		}
		switch file.Type {
		case upload.PDF:
			if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(data[max(0, len(data)-1024):], []byte("%%EOF")) {
				t.Fatal("accepted as PDF without its markers")
			}
		case upload.PNG, upload.JPEG:
			decode := png.DecodeConfig
			if file.Type == upload.JPEG {
				decode = jpeg.DecodeConfig
			}
			cfg, err := decode(bytes.NewReader(data))
			if err != nil || cfg.Width != file.Width || cfg.Height != file.Height ||
				cfg.Width > upload.MaxSide || cfg.Height > upload.MaxSide || cfg.Width*cfg.Height > upload.MaxPixels {
				t.Fatalf("accepted as %s: header %+v, %v; file %+v", file.Type, cfg, err, file)
			}
		default:
			t.Fatalf("accepted type %q", file.Type)
		}
		if !strings.HasSuffix(file.Name, file.Type.Ext()) {
			t.Fatalf("name %q for a %s", file.Name, file.Type)
		}
	})
}

// FuzzName: whatever the browser sends as a name, the stored one keeps the
// product's rule — no separator, no "..", nothing but Latin letters,
// digits, "_" and "-" before the extension.
func FuzzName(f *testing.F) {
	for _, s := range []string{
		"Справка о доходах.pdf", "../../etc/passwd", `C:\x\y.pdf`, "..", "a/../b", "\x00", "ЖКХ №5.png",
		"ＦＵＬＬ.pdf", "a\u0301b", "..\\..\\", " .pdf", "-rf.pdf", strings.Repeat("Щ", 300),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, typ := range []upload.Type{upload.PDF, upload.JPEG, upload.PNG} {
			checkSafe(t, name, upload.Name(name, typ))
		}
	})
}
