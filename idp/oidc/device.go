package oidc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Device authorization (RFC 8628), for kiosks and TVs: the device shows a
// user code; the citizen opens /device on a phone, signs in, enters the
// code and allows or denies; the device's polling then gets tokens.

var _ op.DeviceAuthorizationStorage = (*adapter)(nil)

// Limiter counts hits in the database, so that a limit holds across
// replicas (ratelimit.Limiter).
type Limiter interface {
	Peek(ctx context.Context, rule ratelimit.Rule, key string) (ok bool, retryAfter time.Duration, err error)
	Allow(ctx context.Context, rule ratelimit.Rule, key string) (ok bool, retryAfter time.Duration, err error)
}

// User codes have 20^8 values and live 10 minutes; guessing them (RFC 8628
// section 5.1) is bounded per client address, counting wrong codes, and
// per user code, counting every entry (a citizen enters a code once and
// answers once). Past a limit even the right code is refused until the
// window has passed: the page cannot tell a guesser from the citizen.
var (
	deviceIPRule   = ratelimit.Rule{Name: "device-ip", Limit: 10, Window: 10 * time.Minute}
	deviceCodeRule = ratelimit.Rule{Name: "device-code", Limit: 5, Window: 10 * time.Minute}
)

// errDeviceLimited: too many entries from the address or of the code.
var errDeviceLimited = errors.New("device code entries limited")

// deviceEntry admits one entry of a user code from the request's address,
// or reports errDeviceLimited with how long to wait.
func (p *Provider) deviceEntry(r *http.Request, userCode string) (time.Duration, error) {
	if p.deps.Limiter == nil {
		return 0, nil
	}
	ctx := r.Context()
	ok, wait, err := p.deps.Limiter.Peek(ctx, deviceIPRule, httpx.ClientIP(r))
	if err != nil || !ok {
		return wait, cmp.Or(err, errDeviceLimited)
	}
	if userCode == "" {
		return 0, nil
	}
	if ok, wait, err = p.deps.Limiter.Allow(ctx, deviceCodeRule, userCode); err != nil || !ok {
		return wait, cmp.Or(err, errDeviceLimited)
	}
	return 0, nil
}

// deviceMiss counts a wrong (unknown, expired, used) code against the
// request's address.
func (p *Provider) deviceMiss(r *http.Request) {
	if p.deps.Limiter == nil {
		return
	}
	if _, _, err := p.deps.Limiter.Allow(r.Context(), deviceIPRule, httpx.ClientIP(r)); err != nil {
		p.deps.Log.ErrorContext(r.Context(), "device code: count a wrong code", "err", err)
	}
}

// wrongDeviceCode answers a typed code that is no pending request's: the
// miss is counted and the form shown again with the reason (422).
func (p *Provider) wrongDeviceCode(w http.ResponseWriter, r *http.Request, v deviceView) {
	p.deviceMiss(r)
	v.Form.Fail("user_code", v.L.T("device.err.code"))
	p.render.Render(w, r, http.StatusUnprocessableEntity, "device", v)
}

// deviceRefused answers an entry deviceEntry did not admit: the code form
// again with the reason, or 503 when the counts could not be read.
func (p *Provider) deviceRefused(w http.ResponseWriter, r *http.Request, v deviceView, wait time.Duration, err error) {
	if !errors.Is(err, errDeviceLimited) {
		p.deps.Log.ErrorContext(r.Context(), "device code: rate limit", "err", err)
		p.unavailablePage(w, r)
		return
	}
	minutes := max(1, int((wait+time.Minute-1)/time.Minute))
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
	v.ClientName, v.Items, v.Done = "", nil, ""
	v.Error = v.L.T("device.err.limit", minutes)
	p.render.Render(w, r, http.StatusTooManyRequests, "device", v)
}

func (ad *adapter) StoreDeviceAuthorization(ctx context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	err := ad.store.addDeviceCode(ctx, clientID, deviceCode, userCode, expires, scopes)
	if errors.Is(err, sqldb.ErrConflict) {
		return op.ErrDuplicateUserCode
	}
	if err != nil {
		return unavailable(ctx, err)
	}
	return nil
}

func (ad *adapter) GetDeviceAuthorizatonState(ctx context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	d, err := ad.store.deviceCode(ctx, deviceCode)
	if err != nil && !isVerdict(err) {
		return nil, unavailable(ctx, err)
	}
	if err != nil {
		return nil, err
	}
	if d.ClientID != clientID {
		return nil, fmt.Errorf("device code of another client: %w", sqldb.ErrNotFound)
	}
	st := &op.DeviceAuthorizationState{ClientID: d.ClientID, Scopes: d.Scopes, Audience: []string{clientID}, Expires: d.ExpiresAt}
	switch d.State {
	case "approved":
		// A device code yields tokens once: of racing polls, one.
		err := ad.store.useDeviceCode(ctx, deviceCode)
		if errors.Is(err, sqldb.ErrConflict) {
			return nil, zoidc.ErrInvalidGrant().WithDescription("the device code has been used")
		}
		if err != nil {
			return nil, unavailable(ctx, err)
		}
		st.Done, st.Subject, st.AMR, st.AuthTime = true, d.AccountID, d.AMR, d.AuthTime
	case "denied":
		st.Denied = true
	case "used":
		return nil, zoidc.ErrInvalidGrant().WithDescription("the device code has been used")
	}
	return st, nil
}

// normUserCode makes "bcdf-ghjk", "BCDFGHJK" and "BCDF GHJK" the same.
func normUserCode(s string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		if c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

type deviceView struct {
	webui.Page
	Code       string
	ClientName string
	Items      []item
	Done       string
}

// showDevice asks a signed-in citizen for the code shown on the device.
func (p *Provider) showDevice(w http.ResponseWriter, r *http.Request) {
	s, err := p.deps.Sessions.Current(r)
	if err != nil && !session.Gone(err) {
		p.retryPage(w, r, "device: session", err)
		return
	}
	if err != nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	pg := p.render.NewPage(r, "device.title")
	pg.SignedIn = true
	v := deviceView{Page: pg, Code: r.URL.Query().Get("user_code"), Done: r.URL.Query().Get("done")}
	if v.Code != "" && v.Done == "" {
		// The QR code's link carries the code: show what the device asks.
		// Looking a code up is a guess like any other.
		if wait, err := p.deviceEntry(r, normUserCode(v.Code)); err != nil {
			p.deviceRefused(w, r, v, wait, err)
			return
		}
		c, scopes, err := p.pendingDevice(r.Context(), v.Code)
		if err != nil && !sqldb.Gone(err) {
			p.retryPage(w, r, "device code", err)
			return
		}
		if err != nil {
			p.deviceMiss(r)
		} else if a, err := p.deps.Accounts.Get(r.Context(), s.AccountID); err == nil {
			v.ClientName, v.Items = c, p.consentItems(pg.L, a, scopes, nil, nil)
		}
	}
	p.render.Render(w, r, http.StatusOK, "device", v)
}

func (p *Provider) pendingDevice(ctx context.Context, userCode string) (clientName string, scopes []string, err error) {
	d, err := p.store.pendingDeviceCode(ctx, userCode)
	if err != nil {
		return "", nil, err
	}
	c, err := p.deps.Clients.Get(ctx, d.ClientID)
	if err != nil {
		return "", nil, err
	}
	return c.Name, d.Scopes, nil
}

// submitDevice approves or denies the device's request.
func (p *Provider) submitDevice(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, err := p.deps.Sessions.Current(r)
	if err != nil && !session.Gone(err) {
		p.retryPage(w, r, "device: session", err)
		return
	}
	if err != nil {
		http.Redirect(w, r, "/login?next=/device", http.StatusSeeOther)
		return
	}
	code := r.PostFormValue("user_code")
	pg := p.render.NewPage(r, "device.title")
	pg.SignedIn = true
	v := deviceView{Page: pg, Code: code}
	v.Form = webui.NewForm(r, "user_code")
	if wait, err := p.deviceEntry(r, normUserCode(code)); err != nil {
		p.deviceRefused(w, r, v, wait, err)
		return
	}
	decision := r.PostFormValue("decision")
	var name string
	var scopes []string
	if decision == "" {
		// First step: the code was typed; show what the device asks.
		if name, scopes, err = p.pendingDevice(ctx, code); err != nil && !sqldb.Gone(err) {
			p.retryPage(w, r, "device code", err)
			return
		} else if err != nil {
			p.wrongDeviceCode(w, r, v)
			return
		}
	}
	a, err := p.deps.Accounts.Get(ctx, s.AccountID)
	if err != nil {
		p.retryPage(w, r, "device code: account", err)
		return
	}
	if decision == "" {
		v.ClientName, v.Items = name, p.consentItems(pg.L, a, scopes, nil, nil)
		p.render.Render(w, r, http.StatusOK, "device", v)
		return
	}
	state := "denied"
	if decision == "allow" {
		state = "approved"
	}
	err = p.store.decideDeviceCode(ctx, code, state, a.ID, s.AMR, a.Level.ACR(), s.AuthTime)
	if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		p.retryPage(w, r, "device code: decision", err)
		return
	}
	if err != nil {
		p.wrongDeviceCode(w, r, v)
		return
	}
	webui.Redirect(w, r, "/device?done="+state)
}
