// Package receipts renders the portal's printable and exportable documents:
// the payment receipt (PDF, A4), the appointment ticket (PDF, A5, with a QR
// code of the booking number), the QR code alone as a PNG for the web page,
// and CSV exports that a Russian Excel opens correctly.
//
// Everything here is a pure function of its input: the caller (the payments
// and appointments packages, through the portal's handlers) loads the data,
// checks that the citizen may see it, and passes plain fields — strings,
// int64 kopecks, time.Time. The package imports no other portal package and
// touches no database, so the documents can be produced by any replica, on
// demand, and a test can compare their bytes: equal input gives equal
// output (the PDF's dates come from the data, its catalogue is sorted, the
// fonts are Go's own, embedded as subsets, so nothing depends on the
// machine).
//
// Money is int64 kopecks throughout and is printed by FormatRubles as
// "1 234,56" (plain spaces between groups, a comma before kopecks). The PDF
// writes the currency as «руб.», as Treasury documents do: the embedded Go
// fonts (WGL4) have no glyph for «₽».
//
// CSV (WriteCSV, PaymentsCSV) is what Excel with Russian regional settings
// expects when a file is opened by a double click: UTF-8 with a byte order
// mark, «;» between fields, CRLF between records, RFC 4180 quoting. Cells a
// spreadsheet would run as a formula are defused with a leading apostrophe
// (see Defuse): the purpose of a payment or a payee's name is text that
// came from outside.
package receipts
