package httpx

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gosid/gosid/internal/overload"
)

// WaitedHeader carries, in milliseconds, what a request has waited for
// pooled database connections (overload.Waited) across a nested call:
// a server that calls another of ours while answering (the portal's
// callback calls the provider's token endpoint and userinfo) sends what it
// has waited so far, the callee counts it towards its own request's wait
// (sqldb.RequestWait) and answers its total, which the caller counts in
// turn. So the whole answer the citizen waits for waits at most one
// request's worth, not one per nested call. A client can only shorten its
// own request's wait with it.
const WaitedHeader = "Gosid-Waited"

// inheritWait counts the incoming request's WaitedHeader towards ctx's
// request and reports whether there was one (the answer then carries the
// total).
func inheritWait(ctx context.Context, r *http.Request) bool {
	v := r.Header.Get(WaitedHeader)
	if v == "" {
		return false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 {
		return false
	}
	overload.AddWait(ctx, time.Duration(min(ms, int64(time.Hour/time.Millisecond)))*time.Millisecond)
	return true
}

// waitedValue is ctx's request's wait so far in WaitedHeader's form.
func waitedValue(ctx context.Context) string {
	d, _ := overload.Waited(ctx)
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// Nested prepares req, a call ctx's request makes to another server of
// ours, to carry the request's ID and its wait so far; done, called with
// the answer (nil if none), counts the callee's waits towards ctx's
// request.
func Nested(ctx context.Context, req *http.Request) (done func(*http.Response)) {
	if id := RequestID(ctx); id != "" {
		req.Header.Set(RequestIDHeader, id)
	}
	sent, counted := overload.Waited(ctx)
	if !counted {
		return func(*http.Response) {}
	}
	req.Header.Set(WaitedHeader, strconv.FormatInt(sent.Milliseconds(), 10))
	return func(resp *http.Response) {
		if resp == nil {
			return
		}
		ms, err := strconv.ParseInt(resp.Header.Get(WaitedHeader), 10, 64)
		if err != nil {
			return
		}
		if more := time.Duration(ms)*time.Millisecond - sent.Truncate(time.Millisecond); more > 0 {
			overload.AddWait(ctx, min(more, time.Hour))
		}
	}
}
