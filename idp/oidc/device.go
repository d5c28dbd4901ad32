package oidc

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/gosid/gosid/internal/httpx"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/idp/ratelimit"
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
	_, err := ad.store.db.Exec(ctx, `INSERT INTO oidc_device_codes (device_hash, user_code, client_id, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		sha256Sum(deviceCode), normUserCode(userCode), clientID, strings.Join(scopes, " "), sqldb.Micros(ad.store.now()), sqldb.Micros(expires))
	if errors.Is(err, sqldb.ErrConflict) {
		return op.ErrDuplicateUserCode
	}
	if err != nil {
		return unavailable(ctx, err)
	}
	return nil
}

func (ad *adapter) GetDeviceAuthorizatonState(ctx context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	var (
		st            op.DeviceAuthorizationState
		scopes, state string
		account, amr  sql.NullString
		authTime      sql.NullInt64
		expires       int64
	)
	err := ad.store.db.QueryRow(ctx, `SELECT client_id, scopes, state, account_id, amr, auth_time, expires_at FROM oidc_device_codes WHERE device_hash = $1`,
		sha256Sum(deviceCode)).Scan(&st.ClientID, &scopes, &state, &account, &amr, &authTime, &expires)
	if err != nil && !isVerdict(err) {
		return nil, unavailable(ctx, err)
	}
	if err != nil {
		return nil, err
	}
	if st.ClientID != clientID {
		return nil, fmt.Errorf("device code of another client: %w", sqldb.ErrNotFound)
	}
	st.Scopes, st.Audience, st.Expires = splitList(scopes), []string{clientID}, sqldb.Time(expires)
	switch state {
	case "approved":
		st.Done, st.Subject, st.AMR, st.AuthTime = true, account.String, splitList(amr.String), sqldb.Time(authTime.Int64)
		// A device code yields tokens once.
		if _, err := ad.store.db.Exec(ctx, `UPDATE oidc_device_codes SET state = 'used' WHERE device_hash = $1 AND state = 'approved'`, sha256Sum(deviceCode)); err != nil {
			return nil, unavailable(ctx, err)
		}
	case "denied":
		st.Denied = true
	case "used":
		return nil, zoidc.ErrInvalidGrant().WithDescription("the device code has been used")
	}
	return &st, nil
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
		if err != nil {
			p.deviceMiss(r)
		} else if a, err := p.deps.Accounts.Get(r.Context(), s.AccountID); err == nil {
			v.ClientName, v.Items = c, p.consentItems(pg.L, a, scopes)
		}
	}
	p.render.Render(w, r, http.StatusOK, "device", v)
}

func (p *Provider) pendingDevice(ctx context.Context, userCode string) (clientName string, scopes []string, err error) {
	var clientID, sc string
	var expires int64
	err = p.store.db.QueryRow(ctx, `SELECT client_id, scopes, expires_at FROM oidc_device_codes WHERE user_code = $1 AND state = 'pending'`,
		normUserCode(userCode)).Scan(&clientID, &sc, &expires)
	if err != nil {
		return "", nil, err
	}
	if sqldb.Time(expires).Before(p.deps.Now()) {
		return "", nil, sqldb.ErrExpired
	}
	c, err := p.deps.Clients.Get(ctx, clientID)
	if err != nil {
		return "", nil, err
	}
	return c.Name, splitList(sc), nil
}

// submitDevice approves or denies the device's request.
func (p *Provider) submitDevice(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, err := p.deps.Sessions.Current(r)
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
	if decision == "" {
		// First step: the code was typed; show what the device asks.
		name, scopes, err := p.pendingDevice(ctx, code)
		if err != nil {
			p.deviceMiss(r)
			v.Form.Fail("user_code", pg.L.T("device.err.code"))
			p.render.Render(w, r, http.StatusUnprocessableEntity, "device", v)
			return
		}
		a, err := p.deps.Accounts.Get(ctx, s.AccountID)
		if err != nil {
			p.render.ErrorPage(w, r, http.StatusInternalServerError)
			return
		}
		v.ClientName, v.Items = name, p.consentItems(pg.L, a, scopes)
		p.render.Render(w, r, http.StatusOK, "device", v)
		return
	}
	a, err := p.deps.Accounts.Get(ctx, s.AccountID)
	if err != nil {
		p.render.ErrorPage(w, r, http.StatusInternalServerError)
		return
	}
	state := "denied"
	if decision == "allow" {
		state = "approved"
	}
	res, err := p.store.db.Exec(ctx, `UPDATE oidc_device_codes SET state = $2, account_id = $3, amr = $4, acr = $5, auth_time = $6
		WHERE user_code = $1 AND state = 'pending' AND expires_at > $7`,
		normUserCode(code), state, a.ID, strings.Join(s.AMR, " "), a.Level.ACR(), sqldb.Micros(s.AuthTime), sqldb.Micros(p.deps.Now()))
	if err != nil {
		p.render.ErrorPage(w, r, http.StatusInternalServerError)
		return
	}
	if n, _ := res.RowsAffected(); n != 1 {
		p.deviceMiss(r)
		v.Form.Fail("user_code", pg.L.T("device.err.code"))
		p.render.Render(w, r, http.StatusUnprocessableEntity, "device", v)
		return
	}
	webui.Redirect(w, r, "/device?done="+state)
}
