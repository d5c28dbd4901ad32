package staff

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/oidc/authz"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

//go:embed templates
var files embed.FS

// IdleTimeout ends a staff member's session unused for this long.
const IdleTimeout = 15 * time.Minute

// Sessions is what the gate needs of sign-in sessions (session.Store).
type Sessions interface {
	Current(r *http.Request) (*session.Session, error)
	SetIdleTimeout(ctx context.Context, id string, d time.Duration) error
	End(ctx context.Context, id string) error
}

// Accounts finds accounts (account.Store).
type Accounts interface {
	Get(ctx context.Context, id string) (*account.Account, error)
}

// Gate lets staff pages through only to a strongly authenticated,
// confirmed, recently active member holding a role the page asks for, as
// the database says at the request (several replicas: nothing is cached).
type Gate struct {
	store    *Store
	sessions Sessions
	accounts Accounts
	render   *webui.Renderer
	log      *slog.Logger
}

// NewGate returns the gate over store.
func NewGate(store *Store, sessions Sessions, accounts Accounts, log *slog.Logger) (*Gate, error) {
	r, err := webui.NewRenderer(files, catalog, log, "denied")
	if err != nil {
		return nil, err
	}
	return &Gate{store: store, sessions: sessions, accounts: accounts, render: r, log: log}, nil
}

// Strong reports whether a session that used the methods amr may open
// staff pages (urn:gosid:ac:mfa): a second factor ("mfa"), a passkey that
// verified its user ("hwk" or "swk" with "user"), or a qualified
// e-signature ("sc", which carries "mfa" too).
func Strong(amr []string) bool { return authz.Strong(amr) }

type memberKey struct{}

// FromContext returns the staff member of a request that passed the gate.
func FromContext(ctx context.Context) (Member, bool) {
	m, ok := ctx.Value(memberKey{}).(Member)
	return m, ok
}

// Reasons the gate turns a request away, for its page and tests.
const (
	DeniedLevel = "level" // the account is not confirmed
	DeniedMFA   = "mfa"   // the session did not sign in strongly
	DeniedRole  = "role"  // the account holds none of the page's roles
)

type deniedView struct {
	webui.Page
	Reason, Action, ActionText string
}

// Require serves next only to members holding one of roles (any role when
// none is given); the member is in the request's context (FromContext).
func (g *Gate) Require(next http.Handler, roles ...Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		s, err := g.sessions.Current(r)
		if err != nil {
			if !sqldb.Gone(err) {
				g.fail(w, r, "staff session", err)
				return
			}
			g.toLogin(w, r)
			return
		}
		a, err := g.accounts.Get(ctx, s.AccountID)
		if err != nil {
			g.fail(w, r, "staff account", err)
			return
		}
		grants, err := g.store.Grants(ctx, a.ID)
		if err != nil {
			g.fail(w, r, "staff grants", err)
			return
		}
		m := Member{AccountID: a.ID, SessionID: s.ID, Grants: grants}
		if !slices.ContainsFunc(grants, func(gr Grant) bool { return len(roles) == 0 || slices.Contains(roles, gr.Role) }) {
			// Before the idle rule: a citizen who opens a staff page is
			// turned away, and keeps their own session.
			g.deny(w, r, DeniedRole, a)
			return
		}
		if s.Idle >= IdleTimeout {
			// A staff session unused for 15 minutes ends, whatever the
			// citizen's own setting.
			if err := g.sessions.End(ctx, s.ID); err != nil && !errors.Is(err, sqldb.ErrNotFound) {
				g.fail(w, r, "end idle staff session", err)
				return
			}
			g.toLogin(w, r)
			return
		}
		switch {
		case !a.Level.AtLeast(assurance.Confirmed):
			g.deny(w, r, DeniedLevel, a)
			return
		case !Strong(s.AMR):
			g.deny(w, r, DeniedMFA, a)
			return
		}
		if s.IdleTimeout == 0 || s.IdleTimeout > IdleTimeout {
			if err := g.sessions.SetIdleTimeout(ctx, s.ID, IdleTimeout); err != nil {
				g.fail(w, r, "staff idle timeout", err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, memberKey{}, m)))
	})
}

// toLogin sends the browser to sign in and come back.
func (g *Gate) toLogin(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
}

func (g *Gate) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	g.log.ErrorContext(r.Context(), what, "err", err)
	webui.ErrorPage(w, r, http.StatusServiceUnavailable)
}

// deny renders why the page is closed, with the way to open it where
// there is one: a second factor to step up with or to set up.
func (g *Gate) deny(w http.ResponseWriter, r *http.Request, reason string, a *account.Account) {
	v := deniedView{Page: g.render.NewPage(r, "staff.denied.title")}
	v.SignedIn = true
	v.Reason = v.L.T("staff.denied." + reason)
	switch {
	case reason == DeniedMFA && a.MFA != "":
		v.Action, v.ActionText = "/login/2fa?stepup=1&next="+url.QueryEscape(r.URL.RequestURI()), v.L.T("staff.stepup")
	case reason == DeniedMFA:
		v.Action, v.ActionText = "/account/security", v.L.T("staff.setup")
	case reason == DeniedLevel:
		v.Action, v.ActionText = "/account/confirm", v.L.T("staff.confirm")
	}
	w.Header().Set("X-Gosid-Denied", reason)
	g.render.Render(w, r, http.StatusForbidden, "denied", v)
}

var catalog = webui.Catalog{
	"staff.denied.title": {"Нет доступа к рабочему месту", "No access to the workplace"},
	"staff.denied.role":  {"У вашей учётной записи нет роли сотрудника для этой страницы. Если вы сотрудник, обратитесь к администратору вашей организации.", "Your account holds no staff role for this page. If you are a staff member, ask your organisation's administrator."},
	"staff.denied.level": {"Рабочее место сотрудника доступно только с подтверждённой учётной записью.", "The staff workplace is open to confirmed accounts only."},
	"staff.denied.mfa":   {"Для работы сотрудника войдите со вторым фактором, ключом доступа (passkey) или электронной подписью.", "Staff must sign in with a second factor, a passkey or an e-signature."},
	"staff.stepup":       {"Подтвердить вход вторым фактором", "Confirm the sign-in with a second factor"},
	"staff.setup":        {"Настроить второй фактор или ключ доступа", "Set up a second factor or a passkey"},
	"staff.confirm":      {"Подтвердить личность", "Confirm your identity"},
	"staff.account":      {"Личный кабинет", "Account"},
}
