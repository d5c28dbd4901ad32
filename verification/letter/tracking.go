package letter

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// A tracking number (почтовый идентификатор, ШПИ) of a registered letter:
// Russian Post's domestic 14 digits (the office's index, the month, the
// number, a check digit), or the international 13 characters of UPU S10
// (RA123456785RU).
var (
	domesticRe = regexp.MustCompile(`^[0-9]{14}$`)
	s10Re      = regexp.MustCompile(`^[A-Z]{2}[0-9]{9}[A-Z]{2}$`)
)

// ErrTracking: not a tracking number.
var ErrTracking = errors.New("letter: not a tracking number")

// NormalizeTracking checks a tracking number and returns it as printed
// (spaces dropped, letters upper-cased).
func NormalizeTracking(s string) (string, error) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	switch {
	case domesticRe.MatchString(s):
		if domesticCheck(s[:13]) != s[13] {
			return "", fmt.Errorf("%w: wrong check digit", ErrTracking)
		}
	case s10Re.MatchString(s):
		if s10Check(s[2:10]) != s[10] {
			return "", fmt.Errorf("%w: wrong check digit", ErrTracking)
		}
	default:
		return "", fmt.Errorf("%w: 14 digits or 13 characters like RA123456785RU", ErrTracking)
	}
	return s, nil
}

// domesticCheck is the check digit of a domestic ШПИ: the digits in odd
// places count thrice, those in even places once; the check digit makes
// the sum a multiple of ten.
func domesticCheck(d string) byte {
	sum := 0
	for i := range len(d) {
		n := int(d[i] - '0')
		if i%2 == 0 {
			n *= 3
		}
		sum += n
	}
	return byte('0' + (10-sum%10)%10)
}

// s10Check is the UPU S10 check digit of the 8-digit serial number.
func s10Check(d string) byte {
	weights := [8]int{8, 6, 4, 2, 3, 5, 9, 7}
	sum := 0
	for i := range 8 {
		sum += int(d[i]-'0') * weights[i]
	}
	c := 11 - sum%11
	switch c {
	case 10:
		c = 0
	case 11:
		c = 5
	}
	return byte('0' + c)
}

// Dispatch is one line of a tracking file: the letter and its tracking
// number.
type Dispatch struct {
	Line     int
	LetterID string
	Tracking string
}

// LineError is a bad line of a tracking file.
type LineError struct {
	Line    int
	Problem string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Problem) }

// MaxTrackingLines bounds a tracking file: a day's batch is far smaller.
const MaxTrackingLines = 100000

// ParseTracking reads a tracking file: CSV (comma or semicolon, UTF-8,
// optional BOM) of two columns, the letter id and the tracking number; a
// first line naming the columns is skipped. It returns the good lines and
// every bad one with its number; a letter listed twice is bad the second
// time. An error is returned only when the file itself cannot be read.
func ParseTracking(r io.Reader) ([]Dispatch, []LineError, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	head, err := br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, nil, err
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	if first, _, _ := strings.Cut(string(head), "\n"); strings.Count(first, ";") > strings.Count(first, ",") {
		cr.Comma = ';'
	}
	var good []Dispatch
	var bad []LineError
	seen := map[string]int{}
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := n
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			line = pe.StartLine
			bad = append(bad, LineError{line, "not CSV: " + pe.Err.Error()})
			if len(bad) > 1000 {
				return nil, bad, nil
			}
			continue
		} else if err != nil {
			return nil, nil, err
		}
		if l, _ := cr.FieldPos(0); l > 0 {
			line = l
		}
		if line > MaxTrackingLines {
			bad = append(bad, LineError{line, fmt.Sprintf("more than %d lines", MaxTrackingLines)})
			break
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if len(rec) == 1 && rec[0] == "" {
			continue // an empty line
		}
		if len(good) == 0 && len(bad) == 0 && len(seen) == 0 && isHeader(rec) {
			continue
		}
		if len(rec) != 2 {
			bad = append(bad, LineError{line, fmt.Sprintf("%d columns, want 2: letter id, tracking number", len(rec))})
			continue
		}
		id, tr := rec[0], rec[1]
		if !validID(id) {
			bad = append(bad, LineError{line, "not a letter id"})
			continue
		}
		t, err := NormalizeTracking(tr)
		if err != nil {
			bad = append(bad, LineError{line, strings.TrimPrefix(err.Error(), "letter: ")})
			continue
		}
		if prev, dup := seen[id]; dup {
			bad = append(bad, LineError{line, fmt.Sprintf("the letter is listed on line %d already", prev)})
			continue
		}
		seen[id] = line
		good = append(good, Dispatch{Line: line, LetterID: id, Tracking: t})
	}
	return good, bad, nil
}

// isHeader reports whether a record names columns rather than holding a
// letter: its first field is no letter id.
func isHeader(rec []string) bool {
	return len(rec) > 0 && !validID(rec[0]) && !strings.ContainsAny(rec[0], "0123456789")
}
