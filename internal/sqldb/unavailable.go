package sqldb

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gosid/gosid/internal/overload"
)

// Unavailable reports whether err is the database failing to answer rather
// than an answer (not found, a conflict) or a mistake in the statement: the
// server unreachable, restarting or shutting down, the connection lost
// mid-statement, the pool exhausted, a commit whose outcome is unknown. The
// same request may succeed when sent again a moment later, so a page
// answers it with 503 and Retry-After, not with 500 (which says the request
// itself is at fault and is alerted on as a bug).
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrPoolTimeout) || errors.Is(err, overload.ErrOverloaded) || errors.Is(err, ErrCommitUnknown) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01–57P05: the server shut
		// down, crashed or is starting; class 53: out of resources (too
		// many connections).
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || strings.HasPrefix(pgErr.Code, "53")
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		// pgx's own words for a connection that broke under a statement.
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF")
}

// Gone reports whether err is the verdict that what was looked for is
// not there (ErrNotFound) or no longer valid (ErrExpired): a flow, a
// session, a code. Any other error is a store that did not answer and
// judged nothing.
func Gone(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrExpired)
}
