package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), answered by
// Gosid rather than op:
//
//	GET|POST /oauth/logout  with an id_token_hint whose subject is the
//	                        browser's session's: the session ends (and the
//	                        tokens issued in it), then
//	                        → post_logout_redirect_uri (registered, exact)
//	                        with state, or /oauth/logged-out
//	                        without a hint, or with another subject's: a
//	                        confirmation page; nothing ends until the
//	                        citizen confirms (a link in a stranger's page
//	                        must not sign anyone out)
//	                        without a session: nothing to end → the redirect
//	POST /oauth/logout      confirm=yes from the confirmation page (a
//	                        same-origin form: cross-origin posts are refused
//	                        by webui.Protect) ends the session → the redirect
//	GET /oauth/logged-out   «Вы вышли»
//
// A hint alone never ends or revokes anything: only a request carrying
// the session's cookie does. Ending a session goes through SessionEnded,
// which revokes the session's tokens and tells the sites.

const pathLoggedOut = "/oauth/logged-out"

type logoutView struct {
	webui.Page
	ClientName string
	// Fields are the confirmation form's hidden fields.
	Fields []formField
	Done   bool
}

// endSession is the end-session endpoint.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		p.logoutError(w, r, http.StatusMethodNotAllowed, "logout.err.request")
		return
	}
	if err := r.ParseForm(); err != nil {
		p.logoutError(w, r, http.StatusBadRequest, "logout.err.request")
		return
	}
	form := r.Form
	var hintSub string
	clientID := form.Get("client_id")
	if hint := form.Get("id_token_hint"); hint != "" {
		hctx := op.ContextWithIssuer(ctx, p.cfg.Issuer)
		claims, err := op.VerifyIDTokenHint[*zoidc.IDTokenClaims](hctx, hint, p.op.IDTokenHintVerifier(hctx))
		if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
			p.logoutError(w, r, http.StatusBadRequest, "logout.err.request")
			return
		}
		azp := claims.AuthorizedParty
		if azp == "" && len(claims.Audience) == 1 {
			azp = claims.Audience[0]
		}
		if clientID != "" && clientID != azp {
			p.logoutError(w, r, http.StatusBadRequest, "logout.err.request")
			return
		}
		hintSub, clientID = claims.Subject, azp
	}

	// Where to go afterwards: the client's registered post-logout URI
	// (exactly), or Gosid's own page.
	redirect := pathLoggedOut
	var c *client.Client
	if clientID != "" {
		var err error
		if c, err = p.deps.Clients.Get(ctx, clientID); err != nil {
			if !errors.Is(err, sqldb.ErrNotFound) {
				p.deps.Log.ErrorContext(ctx, "logout: client", "err", err)
				p.logoutError(w, r, http.StatusServiceUnavailable, "logout.err.unavailable")
				return
			}
			p.logoutError(w, r, http.StatusBadRequest, "logout.err.request")
			return
		}
	}
	if plr := form.Get("post_logout_redirect_uri"); plr != "" {
		if c == nil || !c.HasPostLogoutRedirectURI(plr) {
			p.logoutError(w, r, http.StatusBadRequest, "logout.err.redirect")
			return
		}
		redirect = plr
		if st := form.Get("state"); st != "" {
			u, err := url.Parse(plr)
			if err != nil {
				p.logoutError(w, r, http.StatusBadRequest, "logout.err.redirect")
				return
			}
			q := u.Query()
			q.Set("state", st)
			u.RawQuery = q.Encode()
			redirect = u.String()
		}
	}

	sess, err := p.deps.Sessions.Current(r)
	switch {
	case err != nil && !sqldb.Gone(err):
		p.deps.Log.ErrorContext(ctx, "logout: session", "err", err)
		p.logoutError(w, r, http.StatusServiceUnavailable, "logout.err.unavailable")
		return
	case err != nil:
		// No session here: nothing to end, and a hint alone (perhaps a
		// stranger's replay) revokes nothing.
		http.Redirect(w, r, redirect, http.StatusFound)
		return
	case hintSub != "" && hintSub == sess.AccountID:
		// The session's tokens (this site's and every other's) are
		// revoked with it; the account's sessions on other devices, and
		// their tokens, are not this logout's business.
		if !p.signOut(w, r, sess) {
			return
		}
		http.Redirect(w, r, redirect, http.StatusFound)
		return
	case r.Method == http.MethodPost && r.PostForm.Get("confirm") == "yes":
		if !p.signOut(w, r, sess) {
			return
		}
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return
	}
	pg := p.render.NewPage(r, "logout.title")
	pg.SignedIn = true
	v := logoutView{Page: pg}
	if c != nil {
		v.ClientName = c.Name
		v.Fields = append(v.Fields, formField{"client_id", c.ID})
	}
	for _, k := range []string{"post_logout_redirect_uri", "state", "ui_locales"} {
		if val := form.Get(k); val != "" {
			v.Fields = append(v.Fields, formField{k, val})
		}
	}
	p.render.Render(w, r, http.StatusOK, "logout", v)
}

// signOut ends the browser's session and tells SessionEnded; false when
// the session could not be ended (the answer is sent).
func (p *Provider) signOut(w http.ResponseWriter, r *http.Request, sess *session.Session) bool {
	ctx := r.Context()
	// The session's tokens are revoked and its sites told first, on a
	// context that a client hanging up cannot cancel; only then does the
	// session end. A failure of either leaves the session live and
	// answers 503: the retry does the whole logout. (Ending the session
	// first lost the revocation for good when the database failed in
	// between: the retry found no session.)
	if err := p.SessionEnded(context.WithoutCancel(ctx), sess.AccountID, sess.ID); err != nil {
		p.deps.Log.ErrorContext(ctx, "logout: revoke the session's tokens", "err", err)
		p.logoutError(w, r, http.StatusServiceUnavailable, "logout.err.unavailable")
		return false
	}
	if err := p.deps.Sessions.SignOut(w, r); err != nil {
		w.Header().Del("Set-Cookie") // the session lives on: keep its cookie for the retry
		p.deps.Log.ErrorContext(ctx, "logout: end session", "err", err)
		p.logoutError(w, r, http.StatusServiceUnavailable, "logout.err.unavailable")
		return false
	}
	return true
}

// loggedOut is the page a logout without a redirect ends on.
func (p *Provider) loggedOut(w http.ResponseWriter, r *http.Request) {
	pg := p.render.NewPage(r, "logout.done.title")
	p.render.Render(w, r, http.StatusOK, "logout", logoutView{Page: pg, Done: true})
}

func (p *Provider) logoutError(w http.ResponseWriter, r *http.Request, status int, key string) {
	pg := p.render.NewPage(r, "logout.err.title")
	pg.Error = pg.L.T(key)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	p.render.Render(w, r, status, "logout", logoutView{Page: pg})
}

var logoutCatalog = webui.Catalog{
	"logout.title":           {"Выход из Gosid", "Sign out of Gosid"},
	"logout.site":            {"Сайт «%s» просит выйти из учётной записи Gosid.", "The site “%s” asks to sign you out of Gosid."},
	"logout.confirm":         {"Выйти из учётной записи Gosid на этом устройстве?", "Sign out of your Gosid account on this device?"},
	"logout.yes":             {"Выйти", "Sign out"},
	"logout.no":              {"Остаться в учётной записи", "Stay signed in"},
	"logout.done.title":      {"Вы вышли", "You have signed out"},
	"logout.done":            {"Вы вышли из учётной записи Gosid на этом устройстве.", "You have signed out of your Gosid account on this device."},
	"logout.again":           {"Войти снова", "Sign in again"},
	"logout.account":         {"Перейти в учётную запись", "Go to my account"},
	"logout.err.title":       {"Ошибка выхода", "Sign-out error"},
	"logout.err.request":     {"Сайт отправил неверный запрос на выход. Если хотите выйти из Gosid, нажмите «Выйти» вверху страницы.", "The site sent an invalid sign-out request. To sign out of Gosid, press “Sign out” at the top of the page."},
	"logout.err.redirect":    {"Адрес возврата на сайт не зарегистрирован, поэтому выход прерван. Если хотите выйти из Gosid, нажмите «Выйти» вверху страницы.", "The site's return address is not registered, so the sign-out was stopped. To sign out of Gosid, press “Sign out” at the top of the page."},
	"logout.err.unavailable": {"Сервис временно недоступен. Попробуйте ещё раз через минуту.", "The service is temporarily unavailable. Please try again in a minute."},
}
