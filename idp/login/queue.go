package login

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/overload"
	"github.com/gosid/gosid/internal/webui"
)

// A sign-in the password-hashing budget refused (503 with Retry-After)
// gets a ticket: a cookie saying since when its browser has been kept
// waiting, under a keyed hash so that nobody can date their own earlier.
// Its retries carry it (overload.WithQueued) and the hashing queue serves
// them before the sign-ins that came later, on whichever replica: under
// sustained overload a citizen's retries move up instead of each being a
// fresh lottery. A ticket older than queueTicketTTL counts for nothing;
// the cookie goes once the sign-in's password is checked. A ticket is for
// one login identifier (its keyed hash is under the ticket's), and moves
// a request up by overload.MaxQueuedAdvance at most: kept and replayed,
// or collected for many logins in one burst, tickets buy a client no more
// than having come half a minute earlier — about what a citizen's retries
// need under a sustained overload, and no front of the queue for minutes.
const (
	queueCookie    = "gosid_queue"
	queueTicketTTL = 5 * time.Minute
	queueClockSkew = 5 * time.Second
)

// queuedSince is the time the request's ticket for loginKey gives, zero
// without a valid one (missing, altered, another login's, from the future
// or too old).
func (h *Handler) queuedSince(r *http.Request, loginKey string) time.Time {
	c, err := r.Cookie(webui.CookieName(queueCookie, h.cfg.Secure))
	if err != nil || len(c.Value) > 200 {
		return time.Time{}
	}
	ms, mac, ok := strings.Cut(c.Value, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(mac), []byte(h.ticketMAC(ms, loginKey))) != 1 {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	since := time.UnixMilli(n)
	// Another replica's clock may be a little ahead of this one's.
	if age := h.cfg.Now().Sub(since); age < -queueClockSkew || age > queueTicketTTL {
		return time.Time{}
	}
	return since
}

func (h *Handler) ticketMAC(ms, loginKey string) string {
	return h.loginKey("queue-ticket", ms+"|"+loginKey)
}

// keepQueued gives a sign-in with loginKey refused for overload its
// ticket: the one it brought (withTicket put it in r's context), or one
// from now.
func (h *Handler) keepQueued(w http.ResponseWriter, r *http.Request, loginKey string) {
	since := overload.Queued(r.Context())
	if since.IsZero() {
		since = h.cfg.Now()
	}
	ms := strconv.FormatInt(since.UnixMilli(), 10)
	h.setQueueCookie(w, ms+"."+h.ticketMAC(ms, loginKey), int(queueTicketTTL.Seconds()))
}

// doneQueuing drops the ticket of a sign-in whose password was checked.
func (h *Handler) doneQueuing(w http.ResponseWriter, r *http.Request) {
	if !overload.Queued(r.Context()).IsZero() {
		h.setQueueCookie(w, "", -1)
	}
}

func (h *Handler) setQueueCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: webui.CookieName(queueCookie, h.cfg.Secure), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

// withTicket is r carrying its ticket for loginKey, if it has one.
func (h *Handler) withTicket(r *http.Request, loginKey string) *http.Request {
	if since := h.queuedSince(r, loginKey); !since.IsZero() {
		return r.WithContext(overload.WithQueued(r.Context(), since))
	}
	return r
}
