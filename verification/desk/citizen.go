package desk

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image"
	"image/draw"
	"image/png"
	"net/http"
	"slices"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// The citizen's pages, in the account centre:
//
//	GET  /account/confirm/desk         the live code (two groups, a QR code, the expiry, «Отменить код») and the
//	                                   offices of its region; without one: the regions with offices → the offices
//	                                   of the chosen one (?region=77) → «Получить код»; the newest refusal
//	POST /account/confirm/desk         issue a code (form: region)
//	POST /account/confirm/desk/cancel  cancel the live code

// QRSize is the side of the QR code in pixels, drawn with a white margin
// of qrMargin on every side.
const (
	QRSize   = 240
	qrMargin = 32
)

type officeView struct{ Code, Name, Kind, Address, Hours string }

type regionView struct {
	Code, Name string
	Offices    int
}

type codeView struct {
	webui.Page
	Confirmed bool
	// The live code: Code in two groups, QR a data: URI of its PNG.
	Code, Expires string
	QR            template.URL
	Regions       []regionView
	Region        string
	RegionName    string
	Offices       []officeView
	// Refusal is the newest refusal's text ("" none).
	Refusal, RefusalNote, RefusalWhen string
}

func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (*account.Account, bool) {
	_, a, ok := session.Gate(w, r, h.d.Sessions.Current, h.d.Accounts.Get, r.URL.RequestURI(), h.d.Log)
	return a, ok
}

func (h *Handler) offices(r *http.Request, region string) ([]staff.Org, error) {
	return h.d.Offices.Orgs(r.Context(), staff.Filter{Offices: true, Region: region})
}

func (h *Handler) officeViews(orgs []staff.Org, l webui.Localizer) []officeView {
	out := make([]officeView, len(orgs))
	for i, o := range orgs {
		out[i] = officeView{Code: o.Code, Name: o.Name(l.Lang), Kind: l.T("dk.kind." + string(o.Kind)), Address: o.Address, Hours: o.Hours}
	}
	return out
}

func (h *Handler) showCode(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	v := codeView{Page: h.citizen.NewPage(r, "dk.title")}
	v.SignedIn, v.Tab = true, "profile"
	v.Confirmed = a.Level.AtLeast(assurance.Confirmed)
	if v.Confirmed {
		h.citizen.Render(w, r, http.StatusOK, "code", v)
		return
	}
	c, err := h.store.Live(ctx, a.ID)
	switch {
	case err == nil:
		v.Code, v.Expires, v.Region = Groups(c.Code), c.ExpiresAt.In(h.msk).Format("02.01.2006"), c.Region
		png, err := qrPNG(c.Code)
		if err != nil {
			h.fail(w, r, "desk code QR", err)
			return
		}
		v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	case !errors.Is(err, sqldb.ErrNotFound):
		h.fail(w, r, "desk code", err)
		return
	}
	if op, err := h.store.LastRefusal(ctx, a.ID); err == nil {
		v.Refusal, v.RefusalNote = v.L.T("dk.reason."+op.Reason), op.Note
		v.RefusalWhen = op.CreatedAt.In(h.msk).Format("02.01.2006 15:04")
		if o, err := h.d.Offices.Org(ctx, op.OrgCode); err == nil {
			v.RefusalWhen += " · " + o.Name(v.L.Lang)
		}
	} else if !errors.Is(err, sqldb.ErrNotFound) {
		h.fail(w, r, "desk refusal", err)
		return
	}
	if v.Region == "" {
		v.Region = r.URL.Query().Get("region")
	}
	all, err := h.offices(r, "")
	if err != nil {
		h.fail(w, r, "offices", err)
		return
	}
	for _, o := range all {
		if n := len(v.Regions); n > 0 && v.Regions[n-1].Code == o.Region {
			v.Regions[n-1].Offices++
			continue
		}
		v.Regions = append(v.Regions, regionView{Code: o.Region, Name: RegionName(o.Region, v.L.Lang), Offices: 1})
	}
	slices.SortStableFunc(v.Regions, func(x, y regionView) int {
		if x.Name < y.Name {
			return -1
		}
		if x.Name > y.Name {
			return 1
		}
		return 0
	})
	if v.Region != "" {
		v.RegionName = RegionName(v.Region, v.L.Lang)
		var in []staff.Org
		for _, o := range all {
			if o.Region == v.Region {
				in = append(in, o)
			}
		}
		v.Offices = h.officeViews(in, v.L)
	}
	switch r.URL.Query().Get("error") {
	case "region":
		v.Error = v.L.T("dk.err.region")
	}
	switch r.URL.Query().Get("done") {
	case "cancelled":
		v.Notice = v.L.T("dk.cancelled")
	}
	h.citizen.Render(w, r, http.StatusOK, "code", v)
}

func (h *Handler) issueCode(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if a.Level.AtLeast(assurance.Confirmed) {
		webui.Redirect(w, r, "/account/confirm/desk")
		return
	}
	region := r.PostFormValue("region")
	orgs, err := h.offices(r, region)
	if err != nil {
		h.fail(w, r, "offices", err)
		return
	}
	if region == "" || len(orgs) == 0 {
		webui.Redirect(w, r, "/account/confirm/desk?error=region")
		return
	}
	// The code with its entry, which gives its expiry: one transaction.
	err = h.d.Activity.Apply(ctx, func(tx *sqldb.Tx, _ *account.Store) ([]audit.Entry, error) {
		c, err := h.store.With(tx).Issue(ctx, a.ID, region)
		if err != nil {
			return nil, err
		}
		return []audit.Entry{{AccountID: a.ID, Actor: citizenActor(a.ID), Action: audit.ActionDeskCodeIssued,
			Detail: map[string]string{"region": region, "until": c.ExpiresAt.In(h.msk).Format("02.01.2006")}, IP: httpx.ClientIP(r)}}, nil
	})
	if errors.Is(err, ErrLive) {
		webui.Redirect(w, r, "/account/confirm/desk")
		return
	}
	if err != nil {
		h.fail(w, r, "issue desk code", err)
		return
	}
	webui.Redirect(w, r, "/account/confirm/desk")
}

func (h *Handler) cancelCode(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	err := h.d.Activity.ChangeTx(ctx, audit.Entry{AccountID: a.ID, Actor: citizenActor(a.ID), Action: audit.ActionDeskCodeCancelled, IP: httpx.ClientIP(r)},
		func(tx *sqldb.Tx, _ *account.Store) error { return h.store.close(ctx, tx, a.ID, StatusCancelled) })
	if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		h.fail(w, r, "cancel desk code", err)
		return
	}
	webui.Redirect(w, r, "/account/confirm/desk?done=cancelled")
}

// qrPNG renders code as a QR code: the code alone, which the desk's
// scanner types into its search.
func qrPNG(code string) ([]byte, error) {
	q, err := qr.Encode(code, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	if q, err = barcode.Scale(q, QRSize, QRSize); err != nil {
		return nil, err
	}
	// The quiet zone scanners need around the code: four modules and more.
	img := image.NewGray(image.Rect(0, 0, QRSize+2*qrMargin, QRSize+2*qrMargin))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(qrMargin, qrMargin, qrMargin+QRSize, qrMargin+QRSize), q, image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.d.Log.ErrorContext(r.Context(), what, "err", err)
	webui.ErrorPage(w, r, http.StatusServiceUnavailable)
}
