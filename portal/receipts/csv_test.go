package receipts

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestFormatRubles(t *testing.T) {
	for k, want := range map[int64]string{
		0: "0,00", 5: "0,05", 100: "1,00", 99999: "999,99", 100000: "1 000,00", 123456: "1 234,56",
		123456789: "1 234 567,89", -123456: "-1 234,56", -5: "-0,05",
		math.MaxInt64: "92 233 720 368 547 758,07", math.MinInt64: "-92 233 720 368 547 758,08",
	} {
		if got := FormatRubles(k); got != want {
			t.Errorf("FormatRubles(%d) = %q, want %q", k, got, want)
		}
	}
}

func TestWriteCSVBytes(t *testing.T) {
	var buf bytes.Buffer
	err := WriteCSV(&buf, []string{"Имя", "Сумма, ₽"}, [][]string{
		{"Плата; с точкой с запятой", "1 234,56"},
		{`Кавычки "ёлочки" и "лапки"`, "-1 234,56"},
		{"Две\r\nстроки", "=1+2"},
		{"+7 999 123-45-67", "@SUM(A1)"},
		{"-2+3", "\tтаб"},
		{"=HYPERLINK(\"http://x\";\"y\")", ""},
		{""},
		{"bad\xffutf8", "＝1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "\xEF\xBB\xBF" +
		"Имя;Сумма, ₽\r\n" +
		"\"Плата; с точкой с запятой\";1 234,56\r\n" +
		"\"Кавычки \"\"ёлочки\"\" и \"\"лапки\"\"\";-1 234,56\r\n" +
		"\"Две\r\nстроки\";'=1+2\r\n" +
		"'+7 999 123-45-67;'@SUM(A1)\r\n" +
		"'-2+3;'\tтаб\r\n" +
		"\"'=HYPERLINK(\"\"http://x\"\";\"\"y\"\")\";\r\n" +
		"\"\"\r\n" +
		"bad\uFFFDutf8;'＝1\r\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestDefuse(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "Госпошлина": "Госпошлина", "1 234,56": "1 234,56", "-1 234,56": "-1 234,56", "-1234.5": "-1234.5",
		"-0,05": "-0,05", "=1": "'=1", "+1": "'+1", "-": "'-", "-1 234,5x": "'-1 234,5x", "-1  234": "'-1  234",
		"- 1": "'- 1", "-1 ": "'-1 ", "-1,": "'-1,", "-1+1": "'-1+1", "@x": "'@x", "\r1": "'\r1", "\n=1": "'\n=1",
		"-1,2,3": "'-1,2,3", " =1": " =1", "－1": "'－1", "＠A1": "'＠A1",
	} {
		if got := Defuse(in); got != want {
			t.Errorf("Defuse(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPaymentsCSV(t *testing.T) {
	rows := []PaymentRow{
		{At: time.Date(2026, 12, 4, 15, 4, 0, 0, msk), UIN: "18810177260000123456", Kind: "Штраф ГИБДД",
			Purpose: "Штраф по постановлению № 18810177260000123456; ст. 12.9 ч. 2", Payee: "УФК по г. Москве (ГУ МВД России по г. Москве)",
			Amount: 123456, Status: "Оплачено", OperationID: "P-2026-000123"},
		{At: time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("", 7*3600)), UIN: "0322000000000000000000001", Kind: "Госпошлина",
			Purpose: "=cmd|' /C calc'!A0", Payee: "Казначейство России (ФНС России)", Amount: 350000, Status: "Ожидает оплаты", OperationID: "P-2026-000124"},
	}
	var buf bytes.Buffer
	if err := PaymentsCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	want := "\uFEFF" +
		"Дата и время;УИН;Вид;Назначение;Получатель;Сумма, ₽;Статус;Номер операции\r\n" +
		"04.12.2026 15:04 МСК;18810177260000123456;Штраф ГИБДД;\"Штраф по постановлению № 18810177260000123456; ст. 12.9 ч. 2\";" +
		"УФК по г. Москве (ГУ МВД России по г. Москве);1 234,56;Оплачено;P-2026-000123\r\n" +
		"01.12.2026 09:00 МСК+4;0322000000000000000000001;Госпошлина;'=cmd|' /C calc'!A0;Казначейство России (ФНС России);" +
		"3 500,00;Ожидает оплаты;P-2026-000124\r\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// Read back as a spreadsheet would, cell for cell.
	recs := readBack(t, buf.Bytes())
	if len(recs) != 3 || strings.Join(recs[0], "|") != strings.Join(PaymentsHeader, "|") {
		t.Fatalf("read back %q", recs)
	}
	if recs[1][3] != rows[0].Purpose || recs[1][5] != "1 234,56" || recs[2][3] != "'"+rows[1].Purpose || recs[2][1] != rows[1].UIN {
		t.Errorf("cells differ: %q", recs)
	}
}

// readBack parses what WriteCSV wrote with encoding/csv set as the file
// declares: the BOM first, «;» between fields.
func readBack(t testing.TB, b []byte) [][]string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\uFEFF")) {
		t.Fatal("no BOM")
	}
	r := csv.NewReader(bytes.NewReader(b[3:]))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

type failWriter struct{}

var errWrite = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteCSVError(t *testing.T) {
	if err := WriteCSV(failWriter{}, []string{"a"}, [][]string{{"b"}}); !errors.Is(err, errWrite) {
		t.Fatalf("got %v, want the writer's error", err)
	}
}

// FuzzWriteCSV: whatever the cells, encoding/csv reads back what Defuse
// made of them (invalid UTF-8 replaced), except that it turns CRLF inside
// a quoted field into LF, as RFC 4180 readers may.
func FuzzWriteCSV(f *testing.F) {
	f.Add("a", "b;c", "d\"e", 2)
	f.Add("=1+2", "-1 234,56", "x\r\ny", 1)
	f.Add("", "", "", 3)
	f.Add("\r", "\n", "\"", 2)
	f.Add("\xff", "＝", "@", 1)
	f.Fuzz(func(t *testing.T, a, b, c string, cols int) {
		cells := []string{a, b, c}
		cols = 1 + abs(cols)%3
		rows := [][]string{cells[:cols], cells[3-cols:]}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, nil, rows); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(buf.Bytes(), []byte("\r\n")) {
			t.Fatal("last record not ended by CRLF")
		}
		got := readBack(t, buf.Bytes())
		if len(got) != len(rows) {
			t.Fatalf("%d records read back, want %d: %q", len(got), len(rows), buf.String())
		}
		for i, row := range rows {
			if len(got[i]) != len(row) {
				t.Fatalf("record %d: %d fields, want %d: %q", i, len(got[i]), len(row), buf.String())
			}
			for j, cell := range row {
				want := strings.ReplaceAll(Defuse(strings.ToValidUTF8(cell, "\uFFFD")), "\r\n", "\n")
				if got[i][j] != want {
					t.Fatalf("cell %d,%d: read %q, want %q (wrote %q)", i, j, got[i][j], want, buf.String())
				}
				if d := Defuse(cell); d != cell && !strings.HasPrefix(d, "'") {
					t.Fatalf("Defuse changed %q other than by an apostrophe: %q", cell, d)
				}
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
