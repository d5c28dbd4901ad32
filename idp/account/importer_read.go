package account

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// ImportFormat is the layout of an import file.
type ImportFormat string

const (
	// ImportCSV: RFC 4180, a header row naming the fields (ImportFields,
	// any order, any subset), one record per row; comma-separated, or
	// semicolon-separated when the header has semicolons and no commas
	// (what spreadsheets write in a Russian locale). A byte-order mark is
	// allowed.
	ImportCSV ImportFormat = "csv"
	// ImportJSONL: one JSON object per line, fields by name (ImportFields),
	// string values or null; blank lines are skipped.
	ImportJSONL ImportFormat = "jsonl"
)

// ImportFields are the fields a record may have. Unknown fields are an
// error: a misspelt column must not drop data silently.
var ImportFields = []string{"external_id", "phone", "email", "password_hash", "password",
	"family_name", "given_name", "middle_name", "birthdate", "gender", "snils", "inn",
	"passport_series", "passport_number", "passport_issue_date", "passport_issuer", "division_code"}

// ImportRecord is one account of an import file, as written there: Import
// validates it.
type ImportRecord struct {
	// Line is the record's line in the file (its first line, for a CSV
	// record spanning several).
	Line int
	// ExternalID is the account's key in the system it comes from,
	// optional: an account with it already here makes a re-run skip the
	// record (see Import).
	ExternalID string
	// Phone and Email: at least one.
	Phone, Email string
	// PasswordHash is an argon2id PHC string, stored as it is; Password a
	// plain password (test data), checked against the policy and hashed.
	// Exactly one of them.
	PasswordHash, Password            string
	FamilyName, GivenName, MiddleName string
	BirthDate, Gender                 string
	// SNILS, INN and the passport are claims, as if the citizen typed them.
	SNILS, INN                                  string
	PassportSeries, PassportNumber              string
	PassportIssueDate, PassportIssuer, Division string
	// Problems are what the reader found wrong with the record's syntax
	// (an unknown field, a value that is not a string); Import reports the
	// record as failed with them.
	Problems []ImportProblem
}

// set stores value in the field named name; false for an unknown name.
func (r *ImportRecord) set(name, value string) bool {
	p := r.field(name)
	if p == nil {
		return false
	}
	*p = value
	return true
}

func (r *ImportRecord) field(name string) *string {
	switch name {
	case "external_id":
		return &r.ExternalID
	case "phone":
		return &r.Phone
	case "email":
		return &r.Email
	case "password_hash":
		return &r.PasswordHash
	case "password":
		return &r.Password
	case "family_name":
		return &r.FamilyName
	case "given_name":
		return &r.GivenName
	case "middle_name":
		return &r.MiddleName
	case "birthdate":
		return &r.BirthDate
	case "gender":
		return &r.Gender
	case "snils":
		return &r.SNILS
	case "inn":
		return &r.INN
	case "passport_series":
		return &r.PassportSeries
	case "passport_number":
		return &r.PassportNumber
	case "passport_issue_date":
		return &r.PassportIssueDate
	case "passport_issuer":
		return &r.PassportIssuer
	case "division_code":
		return &r.Division
	}
	return nil
}

// ImportProblem is why a record was not imported: its line, the field at
// fault ("" for the record as a whole) and a message in Russian and
// English. Messages never hold the values: a password, a hash or a
// document number must not reach a terminal or a log.
type ImportProblem struct {
	Line  int    `json:"line"`
	Field string `json:"field,omitempty"`
	RU    string `json:"ru"`
	EN    string `json:"en"`
}

func (p ImportProblem) Error() string {
	if p.Field == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.EN)
	}
	return fmt.Sprintf("line %d: %s: %s", p.Line, p.Field, p.EN)
}

func problem(line int, field, ru, en string) ImportProblem {
	return ImportProblem{Line: line, Field: field, RU: ru, EN: en}
}

// maxImportLine bounds a line (JSONL) or a record (CSV) of an import
// file, so that a file without line breaks cannot exhaust memory. A real
// record is a few hundred bytes.
const maxImportLine = 64 << 10

// ImportReader reads the records of an import file one at a time, so that
// a file of millions of accounts is never held in memory.
type ImportReader struct {
	format ImportFormat
	// CSV
	csv    *csv.Reader
	header []string
	// JSONL
	br   *bufio.Reader
	line int
}

// NewImportReader returns a reader of r in format. For CSV it reads the
// header at once; a header naming an unknown or repeated field, or none
// at all, is an error.
func NewImportReader(r io.Reader, format ImportFormat) (*ImportReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	switch format {
	case ImportJSONL:
		return &ImportReader{format: format, br: br}, nil
	case ImportCSV:
	default:
		return nil, fmt.Errorf("unknown import format %q (want csv or jsonl)", format)
	}
	// The header decides the separator; it is read ahead and given back.
	first, err := readLimited(br, maxImportLine)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	first = bytes.TrimPrefix(first, []byte("\uFEFF"))
	if err == nil {
		first = append(first, '\n')
	}
	cr := csv.NewReader(io.MultiReader(bytes.NewReader(first), br))
	if bytes.IndexByte(first, ';') >= 0 && bytes.IndexByte(first, ',') < 0 {
		cr.Comma = ';'
	}
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the CSV file is empty: want a header row naming the fields")
	}
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	header = slices.Clone(header)
	var probe ImportRecord
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		header[i] = name
		if probe.field(name) == nil {
			return nil, fmt.Errorf("CSV header: column %d: unknown field %q (known: %s)", i+1, truncate(name, 40), strings.Join(ImportFields, ", "))
		}
		if slices.Contains(header[:i], name) {
			return nil, fmt.Errorf("CSV header: field %q appears twice", name)
		}
	}
	return &ImportReader{format: format, csv: cr, header: header}, nil
}

// Next returns the next record, or io.EOF after the last. A record with
// syntax problems comes back with Problems set, and the reader goes on
// with the next line; any other error (reading r) ends the reading.
func (r *ImportReader) Next() (ImportRecord, error) {
	if r.format == ImportCSV {
		return r.nextCSV()
	}
	return r.nextJSONL()
}

func (r *ImportReader) nextCSV() (ImportRecord, error) {
	fields, err := r.csv.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return ImportRecord{}, io.EOF
	case errors.As(err, &pe):
		// A broken quote or a wrong number of fields spoils this record
		// only: encoding/csv goes on at the next line.
		rec := ImportRecord{Line: pe.StartLine}
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			rec.Problems = []ImportProblem{problem(pe.StartLine, "", fmt.Sprintf("Число полей (%d) не совпадает с заголовком (%d)", len(fields), len(r.header)),
				fmt.Sprintf("%d fields where the header has %d", len(fields), len(r.header)))}
		} else {
			rec.Problems = []ImportProblem{problem(pe.StartLine, "", "Ошибка формата CSV (кавычки)", "Malformed CSV (quotes)")}
		}
		return rec, nil
	case err != nil:
		return ImportRecord{}, err
	}
	// FieldPos is valid only after a successful Read.
	line, _ := r.csv.FieldPos(0)
	rec := ImportRecord{Line: line}
	size := 0
	for i, v := range fields {
		size += len(v)
		rec.set(r.header[i], v)
	}
	if size > maxImportLine {
		return ImportRecord{Line: line, Problems: []ImportProblem{problem(line, "", "Запись слишком длинная", "Record too long")}}, nil
	}
	checkText(&rec)
	return rec, nil
}

func (r *ImportReader) nextJSONL() (ImportRecord, error) {
	for {
		b, err := readLimited(r.br, maxImportLine)
		if len(b) == 0 && errors.Is(err, io.EOF) {
			return ImportRecord{}, io.EOF
		}
		r.line++
		if errors.Is(err, errLineTooLong) {
			return ImportRecord{Line: r.line, Problems: []ImportProblem{problem(r.line, "", "Строка слишком длинная", "Line too long")}}, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return ImportRecord{}, err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		return parseJSONRecord(b, r.line), nil
	}
}

// parseJSONRecord reads one JSONL line: an object whose values are
// strings or null.
func parseJSONRecord(b []byte, line int) ImportRecord {
	rec := ImportRecord{Line: line}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		rec.Problems = []ImportProblem{problem(line, "", "Строка не является объектом JSON", "The line is not a JSON object")}
		return rec
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	slices.Sort(names) // problems in a stable order
	for _, name := range names {
		raw := obj[name]
		var v *string
		if err := json.Unmarshal(raw, &v); err != nil {
			rec.Problems = append(rec.Problems, problem(line, fieldName(name), "Значение должно быть строкой", "The value must be a string"))
			continue
		}
		s := ""
		if v != nil {
			s = *v
		}
		if !rec.set(name, s) {
			rec.Problems = append(rec.Problems, problem(line, fieldName(name), "Неизвестное поле", "Unknown field"))
		}
	}
	checkText(&rec)
	return rec
}

// fieldName is a field name from the file as a problem names it: cut and
// made printable, since the file is untrusted.
func fieldName(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	return truncate(s, 40)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// checkText refuses values that are not UTF-8 text: the validators expect
// text, and a NUL or an invalid byte would otherwise reach the database
// (PostgreSQL refuses both in TEXT).
func checkText(rec *ImportRecord) {
	for _, name := range ImportFields {
		v := *rec.field(name)
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			rec.Problems = append(rec.Problems, problem(rec.Line, name, "Недопустимые символы", "Invalid characters"))
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLimited returns the next line of br without its line break (and a
// "\r" before it). A line longer than limit is read to its end and
// dropped, with errLineTooLong. io.EOF comes with the last line when it
// has no line break.
func readLimited(br *bufio.Reader, limit int) ([]byte, error) {
	var out []byte
	long := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !long {
			if len(out)+len(chunk) > limit+2 {
				long, out = true, nil
			} else {
				out = append(out, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if long {
			if err == nil {
				err = errLineTooLong
			} else if errors.Is(err, io.EOF) {
				err = errLineTooLong
			}
			return nil, err
		}
		out = bytes.TrimSuffix(out, []byte("\n"))
		out = bytes.TrimSuffix(out, []byte("\r"))
		return out, err
	}
}
