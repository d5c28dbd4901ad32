package desk

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/verification/check"
)

//go:embed pages static
var files embed.FS

// Verifier records evidence and raises levels (assurance.Service).
type Verifier interface {
	Verify(ctx context.Context, v assurance.Verification) (assurance.Outcome, error)
}

// Checks starts registry checks and reports the newest (check.Service).
type Checks interface {
	Queue(ctx context.Context, tx *sqldb.Tx, accountID string) (ok bool, err error)
	Latest(ctx context.Context, accountID string) (*check.Check, error)
}

// Notifier tells the citizen (notice.Notifier).
type Notifier interface {
	Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string)
}

// Sessions finds the signed-in citizen (session.Store).
type Sessions interface {
	Current(r *http.Request) (*session.Session, error)
}

// Offices lists the offices citizens may choose and finds one
// (staff.Store).
type Offices interface {
	Orgs(ctx context.Context, f staff.Filter) ([]staff.Org, error)
	Org(ctx context.Context, code string) (staff.Org, error)
}

// Gate serves staff pages only to members holding a role (staff.Gate).
type Gate interface {
	Require(next http.Handler, roles ...staff.Role) http.Handler
}

// Deps are what the desk uses.
type Deps struct {
	DB       *sqldb.DB
	Keys     Keys
	Accounts *account.Store
	Activity *account.Activity
	Verifier Verifier
	Checks   Checks
	Notifier Notifier
	Offices  Offices
	Gate     Gate
	Sessions Sessions
	Log      *slog.Logger
	Now      func() time.Time
}

// Handler serves the citizen's page and the desk.
type Handler struct {
	d       Deps
	store   *Store
	citizen *webui.Renderer
	desk    *webui.Renderer
	msk     *time.Location
}

// New parses the pages.
func New(d Deps) (*Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	c, err := webui.NewRenderer(sub("pages/citizen"), catalog, d.Log, "code")
	if err != nil {
		return nil, err
	}
	k, err := webui.NewRenderer(sub("pages/desk"), catalog, d.Log, "search", "citizen", "reports", "refused")
	if err != nil {
		return nil, err
	}
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		msk = time.FixedZone("MSK", 3*3600)
	}
	return &Handler{d: d, store: NewStore(d.DB, d.Keys, d.Now), citizen: c, desk: k, msk: msk}, nil
}

// Store is the desk's store (codes and operations).
func (h *Handler) Store() *Store { return h.store }

func sub(dir string) fs.FS {
	s, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directory is embedded
	}
	return s
}

// Routes adds the pages to mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/confirm/desk", h.showCode)
	mux.HandleFunc("POST /account/confirm/desk", h.issueCode)
	mux.HandleFunc("POST /account/confirm/desk/cancel", h.cancelCode)

	desk := func(f http.HandlerFunc) http.Handler {
		return h.d.Gate.Require(f, staff.RoleOperator, staff.RoleSupervisor)
	}
	mux.Handle("GET /desk", desk(h.showSearch))
	mux.Handle("POST /desk/find", desk(h.find))
	mux.Handle("GET /desk/citizen/{id}", desk(h.onCitizen(h.showCitizen)))
	mux.Handle("POST /desk/citizen/{id}/confirm", desk(h.onCitizen(h.confirm)))
	mux.Handle("POST /desk/citizen/{id}/refuse", desk(h.onCitizen(h.refuse)))
	mux.Handle("POST /desk/citizen/{id}/correct", desk(h.onCitizen(h.correct)))
	mux.Handle("POST /desk/citizen/{id}/check", desk(h.onCitizen(h.startCheck)))
	mux.Handle("GET /desk/reports", h.d.Gate.Require(http.HandlerFunc(h.showReports), staff.RoleSupervisor))
	mux.Handle("GET /desk/reports.csv", h.d.Gate.Require(http.HandlerFunc(h.reportsCSV), staff.RoleSupervisor))
	mux.Handle("GET /static/desk/", http.StripPrefix("/static/desk/", http.FileServerFS(sub("static"))))
}

// SweepExpired is the periodic job marking expired codes.
func (h *Handler) SweepExpired(ctx context.Context) (int, error) { return h.store.SweepExpired(ctx) }

// Ways offers «Лично в центре обслуживания» on the confirmation page
// (check.Ways) to accounts below confirmed.
func (h *Handler) Ways(ctx context.Context, a *account.Account, lang string) ([]check.Way, error) {
	if a.Level.AtLeast(assurance.Confirmed) {
		return nil, nil
	}
	l := h.citizen.Localizer(langRequest(lang))
	w := check.Way{ID: "desk", Title: l.T("dk.way.title"), Lead: l.T("dk.way.lead"), Href: "/account/confirm/desk", Link: l.T("dk.way.link")}
	c, err := h.store.Live(ctx, a.ID)
	switch {
	case err == nil:
		w.Status, w.Link = l.T("dk.way.live", c.ExpiresAt.In(h.msk).Format("02.01.2006")), l.T("dk.way.show")
	case !errors.Is(err, sqldb.ErrNotFound):
		return []check.Way{w}, err
	}
	if op, err := h.store.LastRefusal(ctx, a.ID); err == nil && (c == nil || op.CreatedAt.After(c.CreatedAt.Add(-time.Second))) {
		w.Status = l.T("dk.way.refused", l.T("dk.reason."+op.Reason))
	}
	return []check.Way{w}, nil
}

// langRequest is a request that asks for lang, for a Localizer outside a
// request.
func langRequest(lang string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "/?lang="+lang, nil)
	return r
}

// actor is the citizen acting on their own account.
func citizenActor(id string) audit.Actor { return audit.Actor{Kind: audit.ActorCitizen, ID: id} }
