package session

import (
	"net/http"
	"net/url"
	"time"
)

// Sensitive changes — a phone, an e-mail, the password, second factors,
// passkeys, certificates, deletion — need a recent authentication, so that
// a stolen session cookie is not a permanent takeover (Keycloak's "max
// auth age"). The rule is Fresh, on the session's AuthTime: sign-in, a
// step-up and the re-authentication page (ReauthPath, in idp/login) all
// set it.

// DefaultReauthMaxAge is how old the latest authentication may be for a
// sensitive change (gosid serve --reauth-max-age).
const DefaultReauthMaxAge = 5 * time.Minute

// ReauthPath is the re-authentication page: it asks the password or the
// account's factor, records a fresh authentication on the current session
// and returns to ?next=.
const ReauthPath = "/account/reauth"

// Fresh reports whether s was authenticated at most maxAge before now. A
// missing session is never fresh.
func Fresh(s *Session, maxAge time.Duration, now time.Time) bool {
	return s != nil && !s.AuthTime.IsZero() && now.Sub(s.AuthTime) <= maxAge
}

// ReauthURL is the re-authentication page that returns to back, the page
// of the form that asked (a path of this site, GET).
func ReauthURL(back string) string {
	return ReauthPath + "?next=" + url.QueryEscape(back)
}

// Reauth is Fresh as handlers hold it: the maximum age and the clock.
// The zero value uses DefaultReauthMaxAge and time.Now.
type Reauth struct {
	MaxAge time.Duration
	Now    func() time.Time
}

// Fresh is the package's Fresh with r's age and clock.
func (r Reauth) Fresh(s *Session) bool {
	maxAge, now := r.MaxAge, time.Now
	if maxAge <= 0 {
		maxAge = DefaultReauthMaxAge
	}
	if r.Now != nil {
		now = r.Now
	}
	return Fresh(s, maxAge, now())
}

// Require lets a request with a fresh session go on. Otherwise it changes
// nothing and sends the browser (303) to the re-authentication page, which
// returns to back, and reports false.
func (r Reauth) Require(w http.ResponseWriter, req *http.Request, s *Session, back string) bool {
	if r.Fresh(s) {
		return true
	}
	http.Redirect(w, req, ReauthURL(back), http.StatusSeeOther)
	return false
}
