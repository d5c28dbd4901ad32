package httpx

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gosid/gosid/internal/overload"

	"github.com/prometheus/client_golang/prometheus"
)

// RequestIDHeader carries the request ID in both directions.
const RequestIDHeader = "X-Request-Id"

// DefaultCSP is the Content-Security-Policy sent unless the handler sets its
// own: no inline script or style, no framing, no <base>.
//
// It has no form-action: browsers (Chromium) apply form-action to every
// redirect that follows a form submission, and the sign-in, second-factor,
// consent and logout forms end, by design, in a redirect to a relying
// party's registered redirect URI, whose origin is not known when the page
// is rendered. With form-action 'self' the citizen would be stuck on Gosid
// after signing in to a site (found by the Chromium e2e test). Forms are
// ours, rendered by html/template; cross-origin posts to us are refused by
// webui.Protect.
const DefaultCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-ancestors 'none'; base-uri 'none'"

// routeUnmatched is the route of a request no ServeMux pattern matched
// (404, 405, and the mux's own redirects).
const routeUnmatched = "unmatched"

// maxLoggedPath bounds the path in an access-log line: a client controls it
// and can make it as long as the header limit allows.
const maxLoggedPath = 512

// Options configures Wrap.
type Options struct {
	// Logger receives the access log and recovered panics. Nil discards them.
	Logger *slog.Logger
	// Metrics, when set, records request counts, durations and in-flight
	// requests. One Metrics may be shared by several servers.
	Metrics *Metrics
	// TLS adds Strict-Transport-Security and makes Secure(r) true. Set it
	// when clients reach the server over HTTPS, including through a
	// TLS-terminating proxy.
	TLS bool
	// Headers adds to or overrides the default security headers. An empty
	// value removes that default. A header the handler sets itself still wins.
	Headers map[string]string
	// ClientIP resolves the client's address once per request (logged as
	// remote_ip, and ClientIP(r) for handlers). Nil uses the connection's
	// peer address; behind a reverse proxy, use TrustedProxies.
	ClientIP func(r *http.Request) string
	// ErrorPage, when set, writes the answer to a request whose handler
	// panicked (status 500) — the site's branded page (webui.ErrorPage);
	// nil writes a plain-text 500. It runs with the request ID in the
	// request's context and in the response header.
	ErrorPage func(w http.ResponseWriter, r *http.Request, status int)
}

type header struct{ key, value string }

// Wrap returns h wrapped in Gosid's middleware, outermost first:
//
//  1. panic recovery: a 500 for the client (Options.ErrorPage's, else plain
//     text), the panic and stack to the log;
//  2. request ID: a valid incoming X-Request-Id is kept, otherwise a new one
//     is made; it is echoed in the response and available as RequestID(ctx);
//  3. access log (one Info line per request) and 4. Prometheus metrics, both
//     labelled with the ServeMux pattern, never the raw path or query;
//  5. security headers on every response, applied when the response header
//     is written so that values the handler set win.
//
// The route comes from Request.Pattern, which http.ServeMux sets on the very
// *http.Request it is given. h must therefore be the ServeMux itself, or a
// handler that passes the request on unchanged; a layer between Wrap and the
// mux that copies the request (r.WithContext, http.StripPrefix) hides the
// pattern and every request is logged as "unmatched". Put such layers
// outside Wrap or inside the mux's handlers.
func Wrap(name string, h http.Handler, opts Options) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	clientIP := opts.ClientIP
	if clientIP == nil {
		clientIP = PeerIP
	}
	w := &wrapped{
		name:      name,
		next:      h,
		logger:    logger,
		metrics:   opts.Metrics,
		clientIP:  clientIP,
		secure:    opts.TLS,
		headers:   securityHeaders(opts.TLS, opts.Headers),
		errorPage: opts.ErrorPage,
	}
	if opts.Metrics != nil {
		w.inFlight = opts.Metrics.inFlight.WithLabelValues(name)
	}
	return w
}

func securityHeaders(tls bool, extra map[string]string) []header {
	defaults := []header{
		{"X-Content-Type-Options", "nosniff"},
		{"Referrer-Policy", "no-referrer"},
		{"X-Frame-Options", "DENY"},
		{"Content-Security-Policy", DefaultCSP},
		{"Cross-Origin-Opener-Policy", "same-origin"},
		{"Permissions-Policy", "camera=(), microphone=(), geolocation=()"},
		{"Cache-Control", "no-store"},
	}
	if tls {
		defaults = append(defaults, header{"Strict-Transport-Security", "max-age=63072000; includeSubDomains"})
	}
	for k, v := range extra {
		k = textproto.CanonicalMIMEHeaderKey(k)
		found := false
		for i := range defaults {
			if defaults[i].key == k {
				defaults[i].value, found = v, true
			}
		}
		if !found {
			defaults = append(defaults, header{k, v})
		}
	}
	out := defaults[:0]
	for _, h := range defaults {
		if h.value != "" {
			out = append(out, h)
		}
	}
	return out
}

type wrapped struct {
	name     string
	next     http.Handler
	logger   *slog.Logger
	metrics  *Metrics
	inFlight prometheus.Gauge
	clientIP func(*http.Request) string
	secure   bool
	headers  []header
	// errorPage: Options.ErrorPage.
	errorPage func(w http.ResponseWriter, r *http.Request, status int)
}

func (m *wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if m.inFlight != nil {
		m.inFlight.Inc()
	}

	id := r.Header.Get(RequestIDHeader)
	if !validRequestID(id) {
		id = newRequestID()
	}
	w.Header().Set(RequestIDHeader, id)
	rw := &responseWriter{ResponseWriter: w, headers: m.headers}
	// ServeMux records the matched pattern in this copy's Pattern field.
	// The arrival lets budgets (password hashing) count the time already
	// spent on the request.
	inner := r.WithContext(overload.WithArrival(withInfo(r.Context(), info{id: id, clientIP: m.clientIP(r), secure: m.secure}), start))
	if inheritWait(inner.Context(), r) {
		rw.waited = func() string { return waitedValue(inner.Context()) }
	}

	defer func() {
		// Recovery is part of the same deferred call as logging and metrics
		// so that a panicking request is still logged and counted, as a 500.
		p := recover()
		abort := false
		if p != nil {
			abort = m.recovered(p, rw, inner, id)
		} else if !rw.wroteHeader && !rw.hijacked {
			// The handler wrote nothing. net/http would send a 200 itself,
			// bypassing rw, so send it here to get the security headers.
			rw.WriteHeader(http.StatusOK)
		}
		m.record(inner, rw, id, time.Since(start))
		if m.inFlight != nil {
			m.inFlight.Dec()
		}
		if abort {
			// Headers and part of a body are already on their way; a 500 is
			// impossible. Abort the connection so the client sees a broken
			// response rather than a complete-looking truncated one.
			panic(http.ErrAbortHandler)
		}
	}()
	m.next.ServeHTTP(rw, inner)
}

// recovered handles a panic from the handler and reports whether the
// connection must be aborted.
func (m *wrapped) recovered(p any, rw *responseWriter, r *http.Request, id string) (abort bool) {
	if p == http.ErrAbortHandler {
		// A deliberate abort: net/http stays quiet about it, so do we.
		if !rw.wroteHeader {
			rw.status = http.StatusInternalServerError
		}
		return true
	}
	m.logger.Error("panic serving request",
		"server", m.name,
		"method", r.Method,
		"path", loggedPath(r),
		"request_id", id,
		"panic", p,
		"stack", string(debug.Stack()),
	)
	if rw.wroteHeader || rw.hijacked {
		return true
	}
	// Drop whatever the handler had set (cookies, content type); the
	// security headers are added again when the 500 is written.
	h := rw.Header()
	clear(h)
	h.Set(RequestIDHeader, id)
	if m.errorPage != nil && m.brandedPage(rw, r) {
		return false
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(http.StatusInternalServerError)
	io.WriteString(rw, "Internal Server Error\n")
	return false
}

// brandedPage writes the 500 with the ErrorPage option and reports
// whether it wrote; a page that panics before writing leaves the plain
// text.
func (m *wrapped) brandedPage(rw *responseWriter, r *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			m.logger.Error("panic writing the error page", "server", m.name, "panic", p)
			ok = rw.wroteHeader
		}
	}()
	m.errorPage(rw, r, http.StatusInternalServerError)
	return rw.wroteHeader
}

func (m *wrapped) record(r *http.Request, rw *responseWriter, id string, elapsed time.Duration) {
	route := r.Pattern
	if route == "" {
		route = routeUnmatched
	}
	status := rw.status
	if rw.hijacked {
		// A hijacked connection has no HTTP status; the only use of
		// hijacking is a protocol switch.
		status = http.StatusSwitchingProtocols
	}
	// Only these fields: the query string, form values, headers (Cookie,
	// Authorization) and bodies carry codes and tokens and never reach a log.
	m.logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
		slog.String("server", m.name),
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", loggedPath(r)),
		slog.Int("status", status),
		slog.Int64("bytes", rw.bytes),
		slog.Duration("duration", elapsed),
		slog.String("request_id", id),
		slog.String("remote_ip", ClientIP(r)),
	)
	if m.metrics != nil {
		method := metricMethod(r.Method)
		m.metrics.requests.WithLabelValues(m.name, route, method, strconv.Itoa(status)).Inc()
		m.metrics.duration.WithLabelValues(m.name, route, method).Observe(elapsed.Seconds())
	}
}

// loggedPath is the request path without the query string, bounded in length.
func loggedPath(r *http.Request) string {
	p := r.URL.Path
	if len(p) > maxLoggedPath {
		p = p[:maxLoggedPath] + "…"
	}
	return p
}

// metricMethod keeps the method label bounded: clients may send any token.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// validRequestID reports whether id matches ^[A-Za-z0-9._-]{1,64}$: safe to
// echo and to log, and too short to smuggle much.
func validRequestID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return hex.EncodeToString(b[:])
}

// responseWriter records the status and size of a response and adds the
// default security headers, where absent, when the header is written.
type responseWriter struct {
	http.ResponseWriter
	headers     []header
	status      int
	bytes       int64
	wroteHeader bool
	hijacked    bool
	// waited, when set, gives the answer's WaitedHeader.
	waited func() string
}

var (
	_ http.Flusher  = (*responseWriter)(nil)
	_ http.Hijacker = (*responseWriter)(nil)
	_ io.ReaderFrom = (*responseWriter)(nil)
)

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader || w.hijacked {
		// Let net/http report the superfluous call.
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// Informational (103 Early Hints): the final header is still to come.
		w.ResponseWriter.WriteHeader(code)
		return
	}
	h := w.ResponseWriter.Header()
	for _, d := range w.headers {
		// Presence, not value: a handler may suppress a default with
		// h["Key"] = nil, as net/http allows for Content-Type.
		if _, ok := h[d.key]; !ok {
			h.Set(d.key, d.value)
		}
	}
	if w.waited != nil {
		h.Set(WaitedHeader, w.waited())
	}
	w.status, w.wroteHeader = code, true
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps net/http's sendfile path for io.Copy and http.ServeContent.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, src)
	}
	w.bytes += n
	return n, err
}

type writerOnly struct{ io.Writer }

// Flush implements http.Flusher; flushing sends the header, so the security
// headers are added first.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (w *responseWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack is here, rather than left to Unwrap, so that the wrapper knows not
// to write a response on a connection it no longer owns.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, buf, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, buf, err
}

// Unwrap gives http.ResponseController access to the underlying writer
// (deadlines, full duplex).
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
