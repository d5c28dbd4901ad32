package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
)

// Session is a citizen's portal session.
type Session struct {
	Subject string
	// SID is the provider's session id (the ID token's sid).
	SID string
	// ACR and MFA are what the sign-in achieved: the acr the provider
	// reported, and whether a second factor was used.
	ACR     string
	MFA     bool
	Profile Profile
	// StepUp is the Need the sign-in that opened this session asked
	// for: a page that still finds its need unmet shows why instead of
	// sending the citizen round again.
	StepUp    Need
	CreatedAt time.Time
	ProfileAt time.Time

	idHash []byte
	data   sessionData
}

// Profile is what the portal knows of the citizen, from userinfo.
type Profile struct {
	FamilyName string `json:"family_name,omitempty"`
	GivenName  string `json:"given_name,omitempty"`
	MiddleName string `json:"middle_name,omitempty"`
	// Birthdate is YYYY-MM-DD.
	Birthdate string `json:"birthdate,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
	SNILS     string `json:"snils,omitempty"`
	INN       string `json:"inn,omitempty"`
	// Passport is "SERIES NUMBER".
	Passport string `json:"passport,omitempty"`
	Address  string `json:"address,omitempty"`
	// Level is the account's assurance level: the highest of the sign-in's
	// acr and the levels the evidence of verified_claims supports.
	Level string `json:"level"`
	// Verified names the fields the provider's verified_claims vouch for.
	Verified []string `json:"verified,omitempty"`
	// Roles are the staff roles (gosid_roles) the provider reports.
	Roles []Role `json:"roles,omitempty"`
}

// Role is one staff role of the citizen at an organisation.
type Role struct {
	Role string `json:"role"`
	Org  string `json:"org"`
}

// Name is the citizen's name as a greeting uses it: given name and
// patronymic, or the given name alone.
func (p Profile) Name() string { return strings.TrimSpace(p.GivenName + " " + p.MiddleName) }

// IsVerified reports whether the provider vouched for the field.
func (p Profile) IsVerified(field string) bool {
	for _, f := range p.Verified {
		if f == field {
			return true
		}
	}
	return false
}

// HasRole reports whether the citizen holds role at org.
func (p Profile) HasRole(role, org string) bool {
	for _, r := range p.Roles {
		if r.Role == role && r.Org == org {
			return true
		}
	}
	return false
}

// sessionData is a session's sealed part.
type sessionData struct {
	IDToken      string    `json:"id_token"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Profile      Profile   `json:"profile"`
	StepUp       Need      `json:"step_up"`
	LastSeen     time.Time `json:"-"`
}

// Meets reports whether the session satisfies need.
func (s *Session) Meets(need Need) bool {
	if need.Level != "" && Rank(s.Profile.Level) < Rank(need.Level) {
		return false
	}
	return !need.MFA || s.MFA
}

func sessionAAD(idHash []byte) []byte {
	return []byte("portal_sessions|" + base64.RawURLEncoding.EncodeToString(idHash))
}

// profileOf reads the profile from userinfo and the sign-in's acr.
func profileOf(info map[string]any, acr string) Profile {
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	p := Profile{FamilyName: str(info, "family_name"), GivenName: str(info, "given_name"), MiddleName: str(info, "middle_name"),
		Birthdate: str(info, "birthdate"), Email: str(info, "email"), Phone: str(info, "phone_number"),
		SNILS: str(info, "snils"), INN: str(info, "inn"), Level: Levels[0]}
	if doc, ok := info["id_doc"].(map[string]any); ok {
		p.Passport = strings.TrimSpace(str(doc, "series") + " " + str(doc, "number"))
	}
	if addr, ok := info["address"].(map[string]any); ok {
		p.Address = str(addr, "formatted")
	}
	if l, ok := strings.CutPrefix(acr, acrLevelPrefix); ok && Rank(l) > 0 {
		p.Level = l
	}
	// verified_claims: one object or an array of them.
	var vcs []any
	switch v := info["verified_claims"].(type) {
	case map[string]any:
		vcs = []any{v}
	case []any:
		vcs = v
	}
	seen := map[string]bool{}
	for _, v := range vcs {
		vc, _ := v.(map[string]any)
		ver, _ := vc["verification"].(map[string]any)
		if l := str(ver, "assurance_level"); Rank(l) > Rank(p.Level) {
			p.Level = l
		}
		claims, _ := vc["claims"].(map[string]any)
		for k := range claims {
			name := k
			if k == "id_doc" {
				name = "passport"
			}
			if !seen[name] {
				seen[name] = true
				p.Verified = append(p.Verified, name)
			}
		}
	}
	if roles, ok := info["gosid_roles"].([]any); ok {
		for _, r := range roles {
			m, _ := r.(map[string]any)
			if role, org := str(m, "role"), str(m, "org"); role != "" {
				p.Roles = append(p.Roles, Role{Role: role, Org: org})
			}
		}
	}
	return p
}

// open makes a session for a completed sign-in and returns it with its
// cookie value; the browser's previous session (old) ends.
// open opens the session of a finished sign-in and uses up its flow (the
// portal_logins row whose state hashes to flow) in the same transaction:
// ErrUnknownFlow when another callback used it first.
func (s *Service) open(ctx context.Context, flow []byte, claims *oidc.IDTokenClaims, sid string, tok *tokenResponse, info map[string]any, need Need, old string) (*Session, string, error) {
	now := s.now()
	cookie, idHash := bearer.New()
	sess := &Session{Subject: claims.Subject, SID: sid, ACR: claims.AuthenticationContextClassReference,
		MFA:     claims.AuthenticationContextClassReference == acrMFA || containsString(claims.AuthenticationMethodsReferences, "mfa"),
		Profile: profileOf(info, claims.AuthenticationContextClassReference), StepUp: need, CreatedAt: now, ProfileAt: now,
		idHash: idHash}
	sess.data = sessionData{IDToken: tok.IDToken, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Profile: sess.Profile, StepUp: need}
	sealed, err := s.sealData(sess)
	if err != nil {
		return nil, "", err
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// Used up, not deleted: a callback sent again once its answer is
		// lost finds it done (Finish) and starts the sign-in again.
		res, err := tx.Exec(ctx, `UPDATE portal_logins SET done_at = $2, tokens_enc = NULL WHERE state_hash = $1 AND done_at IS NULL`,
			flow, sqldb.Micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("%w: used by another callback", ErrUnknownFlow)
		}
		if old != "" {
			if oldHash, ok := bearer.Hash(old); ok {
				if _, err := tx.Exec(ctx, `DELETE FROM portal_sessions WHERE id_hash = $1`, oldHash); err != nil {
					return err
				}
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO portal_sessions (id_hash, subject, idp_sid, acr, amr, data_enc, profile_at, created_at, last_seen_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8)`, sess.idHash, sess.Subject, sid, sess.ACR,
			strings.Join(claims.AuthenticationMethodsReferences, " "), sealed, sqldb.Micros(now), sqldb.Micros(now.Add(s.cfg.SessionTTL)))
		return err
	})
	if errors.Is(err, ErrUnknownFlow) {
		return nil, "", err
	}
	if err != nil {
		return nil, "", storeErr("open a session", err)
	}
	return sess, cookie, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (s *Service) sealData(sess *Session) ([]byte, error) {
	plain, err := json.Marshal(sess.data)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	sealed, err := s.sealer.Seal(plain, sessionAAD(sess.idHash))
	if err != nil {
		return nil, fmt.Errorf("auth: seal a session: %w", err)
	}
	return sealed, nil
}

// lastSeenEvery is how often a session's last request is written: the
// idle timeout needs no more precision than this.
const lastSeenEvery = time.Minute

// A session whose profile holds staff roles (an officer, support) follows
// the staff rules of the identity provider (idp/staff): it ends after
// StaffIdleTimeout without a request, whatever Config.IdleTimeout says,
// and its profile — the roles, the level — is asked for again once
// StaffProfileTTL old, so that a revoked role or a lowered level is gone
// from the portal within that time.
const (
	StaffIdleTimeout = 15 * time.Minute
	StaffProfileTTL  = time.Minute
)

// Lookup returns the session of a cookie value, or nil: unknown, expired,
// idle too long, or ended at the provider. A stale profile is refreshed
// from userinfo first (when the provider cannot be reached, the stale
// one serves).
func (s *Service) Lookup(ctx context.Context, cookie string) (*Session, error) {
	sess, err := s.lookup(ctx, cookie)
	if sess == nil || err != nil {
		return nil, err
	}
	now := s.now()
	ttl := s.cfg.ProfileTTL
	if len(sess.Profile.Roles) > 0 {
		ttl = min(ttl, StaffProfileTTL)
	}
	if now.Sub(sess.ProfileAt) >= ttl {
		if err := s.refresh(ctx, sess); errors.Is(err, errInvalidGrant) {
			// The citizen was signed out at the provider (or their
			// grant revoked): so here too.
			s.log.InfoContext(ctx, "portal session ended by the provider")
			_, err := s.db.Exec(ctx, `DELETE FROM portal_sessions WHERE id_hash = $1`, sess.idHash)
			return nil, err
		} else if err != nil {
			s.log.WarnContext(ctx, "profile not refreshed", "reason", err.Error())
		}
	}
	if now.Sub(sess.data.LastSeen) >= lastSeenEvery {
		if _, err := s.db.Exec(ctx, `UPDATE portal_sessions SET last_seen_at = $2 WHERE id_hash = $1`, sess.idHash, sqldb.Micros(now)); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

func (s *Service) lookup(ctx context.Context, cookie string) (*Session, error) {
	idHash, ok := bearer.Hash(cookie)
	if !ok {
		return nil, nil
	}
	sess := &Session{idHash: idHash}
	var sealed []byte
	var amr string
	var profileAt, created, lastSeen, expires int64
	err := s.db.QueryRow(ctx, `SELECT subject, idp_sid, acr, amr, data_enc, profile_at, created_at, last_seen_at, expires_at
		FROM portal_sessions WHERE id_hash = $1`, sess.idHash).Scan(&sess.Subject, &sess.SID, &sess.ACR, &amr, &sealed,
		&profileAt, &created, &lastSeen, &expires)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(sqldb.Time(expires)) || now.Sub(sqldb.Time(lastSeen)) >= s.cfg.IdleTimeout {
		_, err := s.db.Exec(ctx, `DELETE FROM portal_sessions WHERE id_hash = $1`, sess.idHash)
		return nil, err
	}
	plain, err := s.sealer.Open(ctx, sealed, sessionAAD(sess.idHash))
	if err != nil {
		return nil, fmt.Errorf("auth: open a session: %w", err)
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, &sess.data); err != nil {
		return nil, fmt.Errorf("auth: session data: %w", err)
	}
	sess.data.LastSeen = sqldb.Time(lastSeen)
	if len(sess.data.Profile.Roles) > 0 && now.Sub(sess.data.LastSeen) >= StaffIdleTimeout {
		_, err := s.db.Exec(ctx, `DELETE FROM portal_sessions WHERE id_hash = $1`, sess.idHash)
		return nil, err
	}
	sess.Profile, sess.StepUp = sess.data.Profile, sess.data.StepUp
	sess.MFA = sess.ACR == acrMFA || containsString(strings.Fields(amr), "mfa")
	sess.CreatedAt, sess.ProfileAt = sqldb.Time(created), sqldb.Time(profileAt)
	return sess, nil
}

// refresh asks userinfo again with a fresh access token. One replica
// refreshes a session at a time (the compare-and-swap on profile_at):
// refresh tokens rotate, and two refreshes with one token would look to
// the provider like a stolen token being replayed.
func (s *Service) refresh(ctx context.Context, sess *Session) error {
	if sess.data.RefreshToken == "" {
		return nil
	}
	now := s.now()
	res, err := s.db.Exec(ctx, `UPDATE portal_sessions SET profile_at = $3 WHERE id_hash = $1 AND profile_at = $2`,
		sess.idHash, sqldb.Micros(sess.ProfileAt), sqldb.Micros(now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil // another request refreshes it
	}
	p, err := s.provider(ctx)
	if err != nil {
		return err
	}
	tok, err := s.token(ctx, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {sess.data.RefreshToken}})
	if err != nil {
		return err
	}
	// The provider has rotated the refresh token: the new one is kept
	// before anything else can fail. Lost (userinfo refusing under load,
	// say), the next refresh would present the old one, which the provider
	// takes for a stolen token replayed: it revokes the whole grant and
	// the citizen is signed out.
	sess.data.AccessToken = tok.AccessToken
	if tok.RefreshToken != "" {
		sess.data.RefreshToken = tok.RefreshToken
	}
	if err := s.saveData(ctx, sess); err != nil {
		return err
	}
	info, err := s.userinfo(ctx, p, tok.AccessToken, sess.Subject)
	if err != nil {
		return err
	}
	// The level now is what the evidence supports now, not the sign-in's
	// acr: an account lowered since (a disputed confirmation, a passport
	// reported invalid) is lowered here too.
	sess.Profile = profileOf(info, "")
	sess.data.Profile, sess.ProfileAt = sess.Profile, now
	return s.saveData(ctx, sess)
}

// saveData writes the session's sealed data.
func (s *Service) saveData(ctx context.Context, sess *Session) error {
	sealed, err := s.sealData(sess)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `UPDATE portal_sessions SET data_enc = $2 WHERE id_hash = $1`, sess.idHash, sealed)
	return err
}
