package webui

import (
	"bytes"
	"io"
	"net/http"
)

// MaxBodyBytes is the largest request body LimitBodies lets through to a
// route that declares no limit of its own: 64 KiB, far more than any form
// of ours needs, and little enough that a flood of oversized bodies costs
// nothing.
const MaxBodyBytes = 64 << 10

// Routes is what LimitBodies needs of an http.ServeMux: the handler a
// request will reach, to learn its limit before it runs.
type Routes interface {
	http.Handler
	Handler(r *http.Request) (h http.Handler, pattern string)
}

// BodyLimit declares that h takes request bodies of up to n bytes instead
// of MaxBodyBytes (an uploaded file). Register the route with it:
//
//	mux.Handle("POST /login/esign", web.BodyLimit(320<<10, http.HandlerFunc(h.submitLogin)))
//
// LimitBodies reads the declaration; outside LimitBodies the handler still
// cannot read more than n bytes.
func BodyLimit(n int64, h http.Handler) http.Handler { return bodyLimit{n: n, next: h} }

type bodyLimit struct {
	n    int64
	next http.Handler
}

// MaxBodyBytes is the declaration LimitBodies looks for.
func (b bodyLimit) MaxBodyBytes() int64 { return b.n }

func (b bodyLimit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, b.n)
	b.next.ServeHTTP(w, r)
}

// LimitBodies reads every request body, whatever its type (urlencoded and
// multipart forms, JSON), completely and before routes runs it: up to
// MaxBodyBytes, or the limit the route's handler declares with BodyLimit.
// A larger body, whether its Content-Length says so or, sent chunked, it
// turns out so, is answered 413 with a short Russian/English text and the
// route never runs. Reading first matters: the standard library's form
// parsing keeps up to 32 MB of a multipart body, and handlers that call
// PostFormValue never see a parsing error, so a limit met while the handler
// reads would let it act on an empty or partly read form.
//
// The request goes on to routes unchanged but for its body (as with
// http.MaxBytesReader), so LimitBodies may sit between httpx.Wrap and
// the ServeMux.
func LimitBodies(routes Routes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			routes.ServeHTTP(w, r)
			return
		}
		limit := int64(MaxBodyBytes)
		if h, _ := routes.Handler(r); h != nil {
			if d, ok := h.(interface{ MaxBodyBytes() int64 }); ok {
				limit = d.MaxBodyBytes()
			}
		}
		if r.ContentLength > limit {
			tooLarge(w, r, limit)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		switch {
		case int64(len(body)) > limit:
			tooLarge(w, r, limit)
			return
		case err != nil:
			// The client went away or stalled past the read timeout.
			w.Header().Set("Connection", "close")
			ErrorPage(w, r, http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		routes.ServeHTTP(w, r)
	})
}

// tooLarge answers 413 and closes the connection: the rest of the body is
// not read, so the connection cannot carry another request.
func tooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	w.Header().Set("Connection", "close")
	ErrorPage(w, r, http.StatusRequestEntityTooLarge)
}
