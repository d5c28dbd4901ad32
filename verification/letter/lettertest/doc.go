// Package lettertest reads what `gosid letters export` writes, for tests:
// the letters' text, extracted from the PDF by pdftotext (Debian's
// poppler-utils, which .ci/run installs).
package lettertest
