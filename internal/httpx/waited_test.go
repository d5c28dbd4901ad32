package httpx

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/overload"
)

// TestNestedWait: a call one of our servers makes while answering a
// request (the portal's callback to the provider's token endpoint) carries
// the request's ID and its wait for the database so far; the callee's
// request starts from that wait (so its statements get only what is left
// of sqldb.RequestWait) and answers its total, which the caller counts.
// A request without the header, or with a malformed one, waits as its own.
func TestNestedWait(t *testing.T) {
	quiet := Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var calleeSaw time.Duration
	var calleeID string
	callee := httptest.NewServer(Wrap("callee", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calleeSaw, _ = overload.Waited(r.Context())
		calleeID = RequestID(r.Context())
		overload.AddWait(r.Context(), 300*time.Millisecond) // its own statements' waits
	}), quiet))
	defer callee.Close()

	var callerAfter time.Duration
	var answerHeader string
	caller := Wrap("caller", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		overload.AddWait(ctx, 1200*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "GET", callee.URL, nil)
		done := Nested(ctx, req)
		resp, err := http.DefaultClient.Do(req)
		done(resp)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		answerHeader = resp.Header.Get(WaitedHeader)
		callerAfter, _ = overload.Waited(ctx)
	}), quiet)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(RequestIDHeader, "req-nested")
	rec := httptest.NewRecorder()
	caller.ServeHTTP(rec, r)
	if calleeSaw != 1200*time.Millisecond || calleeID != "req-nested" {
		t.Errorf("the callee started from a wait of %v with id %q, want 1.2s and the caller's", calleeSaw, calleeID)
	}
	if answerHeader != "1500" || callerAfter != 1500*time.Millisecond {
		t.Errorf("the callee answered %s=%q; the caller's wait after it %v, want 1500 ms", WaitedHeader, answerHeader, callerAfter)
	}
	if rec.Header().Get(WaitedHeader) != "" {
		t.Errorf("an answer to a request without %s carries one: %q", WaitedHeader, rec.Header().Get(WaitedHeader))
	}

	for _, v := range []string{"", "abc", "-5", "1.5"} {
		req, _ := http.NewRequest("GET", callee.URL, nil)
		if v != "" {
			req.Header.Set(WaitedHeader, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if calleeSaw != 0 || resp.Header.Get(WaitedHeader) != "" {
			t.Errorf("%s %q: the callee started from %v and answered %q, want its own wait and no header", WaitedHeader, v, calleeSaw, resp.Header.Get(WaitedHeader))
		}
	}
}
