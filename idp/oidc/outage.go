package oidc

import (
	"context"
	"errors"
	"net/http"
	"sync"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gosid/gosid/internal/sqldb"
)

// A store that cannot answer is no verdict. During a database restart a
// valid refresh token must not be called invalid (relying parties that
// follow RFC 6749 then drop it and sign their users out), nor a live
// access token inactive: the client is told to come back (503,
// temporarily_unavailable, Retry-After) and its credentials stay as they
// were.
//
// op maps every storage error onto an OAuth error of its own choosing
// (invalid_grant, active:false, server_error with the driver's text). So
// the adapter, on a store failure, notes it on the request's outage (put in
// the context by serveClientEndpoint) besides returning an error to op; the
// endpoint then answers 503 whatever op wrote.

type outageKey struct{}

// outage records whether a store failed while serving one request.
type outage struct {
	mu  sync.Mutex
	err error
}

// withOutage gives the request an outage record.
func withOutage(ctx context.Context) (context.Context, *outage) {
	o := &outage{}
	return context.WithValue(ctx, outageKey{}, o), o
}

func (o *outage) failed() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// unavailable notes err, a store or network failure, on the request's
// outage and returns the error to hand to op (whose answer is then
// replaced).
func unavailable(ctx context.Context, err error) error {
	if o, _ := ctx.Value(outageKey{}).(*outage); o != nil {
		o.mu.Lock()
		if o.err == nil {
			o.err = err
		}
		o.mu.Unlock()
	}
	return zoidc.ErrServerError().WithParent(err)
}

// isVerdict reports whether a store error is an answer about the data (not
// found, expired, conflicting) rather than a failure to get one.
func isVerdict(err error) bool {
	return sqldb.Gone(err) || errors.Is(err, sqldb.ErrConflict)
}

// errUnavailable is the answer to a request a store failure interrupted.
var errUnavailable = &oauthErr{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
	Description: genericDescriptions["temporarily_unavailable"]}

// retryAfter is the Retry-After of a 503: a database restart takes about
// a second.
const retryAfter = "1"
