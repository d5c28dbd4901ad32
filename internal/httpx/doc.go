// Package httpx is the HTTP plumbing shared by Gosid's listeners (the
// IdP and the citizen portal): serving with graceful shutdown, the middleware
// every request passes through, and the operational endpoints.
//
// # Serving
//
// New opens the listener (or takes one from Listen) and loads the TLS key
// pair straight away, so that cmd/gosid learns the real port of ":0" and
// fails on "address already in use" or a bad certificate before it starts
// anything else. Serve then runs until its context is cancelled and shuts
// down gracefully: the listener closes, idle keep-alive connections close,
// in-flight requests get ShutdownTimeout to finish, and only then are the
// remaining connections cut. Every timeout has a default, because an HTTP
// server without ReadHeaderTimeout can be held open by a slow client forever.
//
// # Middleware
//
// Wrap applies, outermost first:
//
//   - Panic recovery. The client gets a plain 500; the panic value and stack
//     go to the log, never to the client. If the response had already begun,
//     the connection is aborted so that a truncated page does not look whole.
//   - Request IDs. An incoming X-Request-Id is kept only if it is 1–64 of
//     [A-Za-z0-9._-] (so a client cannot inject anything into our logs or
//     headers); otherwise 16 random bytes in hex. The ID is echoed in the
//     response and available to handlers as RequestID(ctx), to put in their
//     own log lines and error pages.
//   - An access log: one Info line per request with server, method, route,
//     path, status, bytes, duration, request_id and remote_ip, and nothing
//     else. The query string is never logged, nor form values, headers or
//     bodies: that is where OAuth authorization codes, one-time codes, state,
//     tokens, passwords and cookies travel, and logs are kept longer and read
//     by more people than any of those secrets may be. The path is logged
//     without its query.
//   - Prometheus metrics: requests, durations and in-flight requests. The
//     route label is the ServeMux pattern ("GET /clients/{id}") or
//     "unmatched", never the raw path: every distinct path would otherwise be
//     a new time series, and an attacker could mint them without limit.
//   - Security headers on every response the handler produces, including
//     errors and 404s: nosniff, no referrer, no framing, a strict
//     Content-Security-Policy without inline script, COOP, a Permissions-Policy
//     that turns off camera, microphone and geolocation, Cache-Control:
//     no-store (pages show personal data), and HSTS when served over TLS.
//     They are added when the response header is written, and only where the
//     handler has not set that header, so a page that needs a different CSP
//     or a cacheable stylesheet just sets its own.
//
// The route is Request.Pattern, which http.ServeMux sets on the request it is
// handed, so Wrap must wrap the ServeMux directly (see Wrap). Responses that
// net/http writes before any handler runs (400 for a malformed request, 431
// for oversized headers) carry none of this.
//
// The ResponseWriter handed to handlers still implements http.Flusher and
// http.Hijacker, and unwraps for http.ResponseController (deadlines, full
// duplex).
//
// # Operational endpoints
//
// Healthz is liveness (the process answers), Readyz is readiness (its checks
// pass within 2 seconds; the 503 names the failing check in generic words and
// the error goes to the log), MetricsHandler serves a Prometheus registry,
// NewRegistry pre-registers the Go and process collectors and
// NewDBStatsCollector exports a database/sql pool's statistics. Where these
// are mounted is the caller's choice; /metrics and /readyz reveal internals
// and belong on an address that the public cannot reach: gosid serve mounts
// them on its management listener (--admin-addr) only.
package httpx
