package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
)

// TestGate: a signed-in page's gate signs in only when there is no live
// session or its account is gone; a store that did not answer is 503.
func TestGate(t *testing.T) {
	down := fmt.Errorf("session: lookup: %w", sqldb.ErrPoolTimeout)
	live := func(*http.Request) (*Session, error) { return &Session{AccountID: "a1"}, nil }
	for _, tc := range []struct {
		name     string
		current  func(*http.Request) (*Session, error)
		account  func(context.Context, string) (string, error)
		status   int
		location string
	}{
		{"signed in", live, func(context.Context, string) (string, error) { return "Иванов", nil }, 0, ""},
		{"no session", func(*http.Request) (*Session, error) {
			return nil, fmt.Errorf("session: no cookie: %w", sqldb.ErrNotFound)
		},
			nil, http.StatusFound, "/login?next=%2Faccount%2Fdata"},
		{"expired", func(*http.Request) (*Session, error) { return nil, fmt.Errorf("session: lookup: %w", sqldb.ErrExpired) },
			nil, http.StatusFound, "/login?next=%2Faccount%2Fdata"},
		{"account gone", live, func(context.Context, string) (string, error) { return "", fmt.Errorf("account: %w", sqldb.ErrNotFound) },
			http.StatusFound, "/login?next=%2Faccount%2Fdata"},
		{"sessions down", func(*http.Request) (*Session, error) { return nil, down }, nil, http.StatusServiceUnavailable, ""},
		{"accounts down", live, func(context.Context, string) (string, error) { return "", errors.New("read: connection reset") },
			http.StatusServiceUnavailable, ""},
	} {
		rec := httptest.NewRecorder()
		s, a, ok := Gate(rec, httptest.NewRequest("GET", "/account/data", nil), tc.current, tc.account, "/account/data", slog.New(slog.DiscardHandler))
		if tc.status == 0 {
			if !ok || s == nil || a != "Иванов" || rec.Code != 200 {
				t.Errorf("%s: %v %v %q, %d", tc.name, ok, s, a, rec.Code)
			}
			continue
		}
		if ok || rec.Code != tc.status || rec.Header().Get("Location") != tc.location ||
			(tc.status == http.StatusServiceUnavailable) != (rec.Header().Get("Retry-After") != "") {
			t.Errorf("%s: ok %v, %d → %q, Retry-After %q", tc.name, ok, rec.Code, rec.Header().Get("Location"), rec.Header().Get("Retry-After"))
		}
	}
}
