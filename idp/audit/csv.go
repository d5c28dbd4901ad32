package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// moscow is Moscow time, UTC+3 all year since 2014; a fixed zone needs no
// time-zone database on the server.
var moscow = time.FixedZone("MSK", 3*3600)

var csvHeader = []label{
	{"Дата и время (МСК)", "Date and time (Moscow)"},
	{"Действие", "Action"},
	{"Кто", "By"},
	{"IP-адрес", "IP address"},
	{"Подробности", "Details"},
}

// WriteCSV writes entries as CSV in lang ("ru" or "en"): a header row, then
// one row per entry with its time in Moscow time, the action, who made it,
// the IP address and the details as "key=value; …". The output starts with
// a UTF-8 byte-order mark so that Excel reads Cyrillic correctly, and a
// cell that a spreadsheet would take for a formula is prefixed with '.
func WriteCSV(w io.Writer, entries []Entry, lang string) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return fmt.Errorf("audit: write CSV: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	head := make([]string, len(csvHeader))
	for i, h := range csvHeader {
		head[i] = h.in(lang)
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("audit: write CSV: %w", err)
	}
	for _, e := range entries {
		rec := []string{
			e.At.In(moscow).Format("02.01.2006 15:04:05"),
			e.Label(lang),
			ActorLabel(e.Actor.Kind, lang),
			e.IP,
			details(e.Detail),
		}
		for i := range rec {
			rec[i] = defuse(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("audit: write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("audit: write CSV: %w", err)
	}
	return nil
}

// details joins a detail map as "k=v; k=v" in key order.
func details(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(d[k])
	}
	return b.String()
}

// defuse keeps a spreadsheet from evaluating a cell (CSV formula
// injection, OWASP): a cell starting with = + - @ tab or carriage return
// gets a leading apostrophe, which spreadsheets show as text.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Export returns an account's log since the given time as CSV in lang (see
// WriteCSV). Reading a citizen's log is itself an access to their data: a
// non-empty export is recorded in the account's log, by actor and through
// via ("cli", "web"), before the data is returned.
func (l *Log) Export(ctx context.Context, accountID string, since time.Time, lang string, actor Actor, via string) ([]byte, error) {
	list, err := l.List(ctx, accountID, since, 0)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, list, lang); err != nil {
		return nil, err
	}
	if len(list) > 0 {
		_, err := l.Append(ctx, l.db, Entry{AccountID: accountID, Actor: actor,
			Action: ActionExportDownloaded, Detail: map[string]string{"what": "activity_log", "via": via}})
		if err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
