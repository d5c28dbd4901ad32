package httpx

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// What Wrap resolves once per request and every handler reads from the
// request's context: its ID, the client's address (through the trusted
// proxies) and whether the client reached us over HTTPS. No handler takes
// these as dependencies; outside Wrap (a test's bare handler) the ID is
// empty, the address is the connection's peer and Secure is false.

type infoKey struct{}

type info struct {
	id       string
	clientIP string
	secure   bool
}

func withInfo(ctx context.Context, i info) context.Context {
	return context.WithValue(ctx, infoKey{}, i)
}

func infoOf(ctx context.Context) (info, bool) {
	i, ok := ctx.Value(infoKey{}).(info)
	return i, ok
}

// RequestID returns the request's ID as set by Wrap, or "" outside Wrap.
func RequestID(ctx context.Context) string {
	i, _ := infoOf(ctx)
	return i.id
}

// ClientIP is the client's address as Wrap resolved it (Options.ClientIP,
// e.g. TrustedProxies), for rate limits, sign-in history and the activity
// log; outside Wrap, the connection's peer.
func ClientIP(r *http.Request) string {
	if i, ok := infoOf(r.Context()); ok && i.clientIP != "" {
		return i.clientIP
	}
	return PeerIP(r)
}

// Secure reports whether the client reached the server over HTTPS, as Wrap
// was told (Options.TLS).
func Secure(r *http.Request) bool {
	i, _ := infoOf(r.Context())
	return i.secure
}

// PeerIP is the connection's peer address, without the port.
func PeerIP(r *http.Request) string {
	if a, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return a.Addr().Unmap().String()
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// TrustedProxies returns the client-address resolver for Options.ClientIP:
// X-Forwarded-For is believed only when the peer is one of the proxies, and
// the client is the right-most address in it that is not itself a trusted
// proxy. With no proxies, the peer.
func TrustedProxies(proxies []netip.Prefix) func(*http.Request) string {
	trusted := func(ip string) bool {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return false
		}
		for _, p := range proxies {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer := PeerIP(r)
		if len(proxies) == 0 || !trusted(peer) {
			return peer
		}
		hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			h := strings.TrimSpace(hops[i])
			if h == "" {
				continue
			}
			if !trusted(h) {
				if a, err := netip.ParseAddr(h); err == nil {
					return a.Unmap().String()
				}
				return peer
			}
		}
		return peer
	}
}

// LogHandler wraps a slog handler so that every line logged with a
// request's context (log.InfoContext(r.Context(), …)) carries its
// request_id, wherever in the code it is written.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" && !hasAttr(r, "request_id") {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// hasAttr reports whether the record already names key (the access log
// line does, for loggers without LogHandler).
func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }

// NewLogger is the process logger: format "json" for log collectors, else
// text for people; level one of debug, info, warn, error (info if not).
// Every line logged with a request's context carries its request_id.
func NewLogger(w io.Writer, format, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	hopts := &slog.HandlerOptions{Level: l}
	var h slog.Handler = slog.NewTextHandler(w, hopts)
	if format == "json" {
		h = slog.NewJSONHandler(w, hopts)
	}
	return slog.New(LogHandler(Quiet(h, QuietBurst, time.Second)))
}
