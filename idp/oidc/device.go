package oidc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/idp/web"
	"github.com/gosid/gosid/migrations/sqldb"
)

// Device authorization (RFC 8628), for kiosks and TVs: the device shows a
// user code; the citizen opens /device on a phone, signs in, enters the
// code and allows or denies; the device's polling then gets tokens.

var _ op.DeviceAuthorizationStorage = (*adapter)(nil)

func (ad *adapter) StoreDeviceAuthorization(ctx context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	_, err := ad.store.db.Exec(ctx, `INSERT INTO oidc_device_codes (device_hash, user_code, client_id, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		sha256Sum(deviceCode), normUserCode(userCode), clientID, strings.Join(scopes, " "), sqldb.Micros(ad.store.now()), sqldb.Micros(expires))
	if errors.Is(err, sqldb.ErrConflict) {
		return op.ErrDuplicateUserCode
	}
	return err
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
			return nil, err
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
	web.Page
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
		if c, scopes, err := p.pendingDevice(r.Context(), v.Code); err == nil {
			a, err := p.deps.Accounts.Get(r.Context(), s.AccountID)
			if err == nil {
				v.ClientName, v.Items = c, p.consentItems(pg.L, a, scopes)
			}
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
	v.Form = web.NewForm(r, "user_code")
	decision := r.PostFormValue("decision")
	if decision == "" {
		// First step: the code was typed; show what the device asks.
		name, scopes, err := p.pendingDevice(ctx, code)
		if err != nil {
			v.Form.Fail("user_code", pg.L.T("device.err.code"))
			p.render.Render(w, r, http.StatusUnprocessableEntity, "device", v)
			return
		}
		a, err := p.deps.Accounts.Get(ctx, s.AccountID)
		if err != nil {
			http.Error(w, "account", http.StatusInternalServerError)
			return
		}
		v.ClientName, v.Items = name, p.consentItems(pg.L, a, scopes)
		p.render.Render(w, r, http.StatusOK, "device", v)
		return
	}
	a, err := p.deps.Accounts.Get(ctx, s.AccountID)
	if err != nil {
		http.Error(w, "account", http.StatusInternalServerError)
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
		http.Error(w, "device", http.StatusInternalServerError)
		return
	}
	if n, _ := res.RowsAffected(); n != 1 {
		v.Form.Fail("user_code", pg.L.T("device.err.code"))
		p.render.Render(w, r, http.StatusUnprocessableEntity, "device", v)
		return
	}
	web.Redirect(w, r, "/device?done="+state)
}
