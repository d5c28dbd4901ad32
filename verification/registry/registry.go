package registry

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Source names a state registry; it is also the evidence's verifier id
// and record source (ru_sfr, ru_mvd, ru_fns).
type Source string

const (
	// SFR is the pension fund (Социальный фонд России): SNILS ↔ name and
	// birth date.
	SFR Source = "ru_sfr"
	// MVD is the interior ministry: a passport's series, number, issue
	// date and validity ↔ name and birth date.
	MVD Source = "ru_mvd"
	// FNS is the tax service: find an INN by passport data, or confirm one.
	FNS Source = "ru_fns"
)

// Sources lists the registries in the order a check asks them.
func Sources() []Source { return []Source{SFR, MVD, FNS} }

// Person is who the request is about, as the citizen gave it.
type Person struct {
	FamilyName, GivenName, MiddleName string
	BirthDate                         time.Time
}

// Passport is a Russian internal passport as the citizen gave it.
type Passport struct {
	Series, Number string // 4 and 6 digits
	IssueDate      time.Time
	Issuer         string
	DivisionCode   string // 123-456
}

// Request is one question to one registry.
type Request struct {
	// ID is the idempotency key: the same ID is the same question, and a
	// gateway answers a repeated one without asking the registry again.
	ID     string
	Source Source
	Person Person
	// SNILS (canonical "123-456-789 01"): required by SFR.
	SNILS string
	// Passport: required by MVD and FNS.
	Passport *Passport
	// INN: FNS confirms it; empty asks FNS to find the INN.
	INN string
}

// LogValue keeps document numbers and names out of logs.
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", r.ID), slog.String("source", string(r.Source)))
}

// Status is a registry's verdict.
type Status string

const (
	// Confirmed: the registry holds the data as given.
	Confirmed Status = "confirmed"
	// Mismatch: the record exists but Fields differ from it.
	Mismatch Status = "mismatch"
	// NotFound: no record (a SNILS never issued, a passport unknown).
	NotFound Status = "not_found"
	// Invalid: the document is known but not valid (a passport reported
	// lost or replaced).
	Invalid Status = "invalid"
)

// Result is a registry's answer.
type Result struct {
	Status Status
	// Fields that differ (Mismatch): family_name, given_name,
	// middle_name, birthdate, passport_issue_date, inn…
	Fields []string
	// INN found or confirmed by FNS.
	INN string
	// RecordID is the registry's reference of the answer, kept with the
	// evidence.
	RecordID string
	// CheckedAt is when the registry answered.
	CheckedAt time.Time
}

// ErrUnavailable: no verdict could be had (a timeout, a 5xx, a malformed
// answer, an open circuit). Checks are retried later; it is never a
// verdict on the citizen's data.
var ErrUnavailable = errors.New("registry temporarily unavailable")

// ErrBadRequest: the request lacks what its source needs. Not retried.
var ErrBadRequest = errors.New("registry: incomplete request")

// Registry asks the state registries. Check returns a Result for a
// verdict, or an error wrapping ErrUnavailable when there was none, or
// ErrBadRequest. Implementations are safe for concurrent use.
type Registry interface {
	Check(ctx context.Context, req Request) (Result, error)
}
