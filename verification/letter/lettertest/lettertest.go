package lettertest

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// PDFText is the text of the PDF file at path, pages separated by form
// feeds. Without pdftotext the test skips with a clear message, unless
// CI=true or GOSID_E2E=1, which make it fail.
func PDFText(t testing.TB, path string) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("GOSID_E2E") == "1" {
			t.Fatal("pdftotext (Debian's poppler-utils) is required with CI=true or GOSID_E2E=1: .ci/run installs it")
		}
		t.Skip("pdftotext not found: install poppler-utils to check the letters' text")
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", path, err)
	}
	return string(out)
}

// CodeRe finds a letter's code in its page's text: a line of eight
// characters of the code alphabet (letter.CodeAlphabet).
var CodeRe = regexp.MustCompile(`(?m)^\s*([2-9A-HJKMNP-Z]{8})\s*$`)
