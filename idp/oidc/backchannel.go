package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
)

// Back-channel logout: when a citizen's SSO session ends (sign-out at
// Gosid, RP-initiated logout, a revoked grant), every client that received
// tokens in that session and registered a backchannel_logout_uri gets a
// signed logout token by a direct POST. Tokens wait in oidc_logout_outbox so
// that a client that is down gets them later: delivery is retried with
// back-off for a day.

const (
	logoutEvent       = "http://schemas.openid.net/event/backchannel-logout"
	logoutMaxAttempts = 12
)

var logoutHTTP = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// SessionEnded is told of every session that ends (sign-out, RP-initiated
// logout, a session ended in the account centre or with the others after a
// password change or recovery, account deletion): it revokes the tokens
// issued in the session — the families of its authorization requests and
// of its refresh tokens, so that its access tokens stop working at
// userinfo and introspection and its refresh tokens are refused — and
// queues logout tokens for the clients that got tokens in it. A session
// that merely expires needs neither: its tokens keep their own lifetimes,
// and its sites learn of it at the next sign-in.
func (p *Provider) SessionEnded(ctx context.Context, accountID, sessionID string) error {
	revokeErr := p.revokeSession(ctx, sessionID)
	return errors.Join(revokeErr, p.queueSessionLogouts(ctx, accountID, sessionID))
}

// revokeSession revokes every token family issued in the session.
func (p *Provider) revokeSession(ctx context.Context, sessionID string) error {
	families, err := sqldb.Strings(ctx, p.store.db, `SELECT family_id FROM oidc_auth_requests WHERE session_id = $1 AND family_id IS NOT NULL
		UNION SELECT family_id FROM oidc_refresh_tokens WHERE session_id = $1`, sessionID)
	if err != nil {
		return fmt.Errorf("token families of a session: %w", err)
	}
	if err := p.revokeFamilies(ctx, families); err != nil {
		return fmt.Errorf("revoke a session's tokens: %w", err)
	}
	return nil
}

// revokeFamilies revokes token families: their refresh tokens go, and
// their access tokens stop working until they would have expired anyway.
func (p *Provider) revokeFamilies(ctx context.Context, families []string) error {
	until := p.deps.Now().Add(max(p.cfg.Lifetimes.AccessToken, p.cfg.Lifetimes.IDToken))
	for _, f := range families {
		if err := revokeFamily(ctx, p.store.db, f, until); err != nil {
			return err
		}
	}
	return nil
}

// queueSessionLogouts queues logout tokens for the clients that got tokens
// in the session (sessionID) of the account.
func (p *Provider) queueSessionLogouts(ctx context.Context, accountID, sessionID string) error {
	ids, err := sqldb.Strings(ctx, p.store.db, `SELECT DISTINCT client_id FROM oidc_auth_requests WHERE session_id = $1 AND done`, sessionID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := p.queueLogout(ctx, id, accountID, sessionID); err != nil {
			return err
		}
	}
	return nil
}

// GrantRevoked queues a logout token for one client (the citizen revoked
// its access), without a sid: every session of the account there ends.
func (p *Provider) GrantRevoked(ctx context.Context, accountID, clientID string) error {
	return p.queueLogout(ctx, clientID, accountID, "")
}

func (p *Provider) queueLogout(ctx context.Context, clientID, accountID, sessionID string) error {
	c, err := p.deps.Clients.Get(ctx, clientID)
	if err != nil || c.BackchannelLogoutURI == "" {
		return nil
	}
	token, err := p.logoutToken(c.ID, c.IDTokenAlg, accountID, sessionID)
	if err != nil {
		return err
	}
	id, _ := keys.NewToken()
	now := sqldb.Micros(p.deps.Now())
	_, err = p.store.db.Exec(ctx, `INSERT INTO oidc_logout_outbox (id, client_id, uri, token, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)`,
		id[:22], c.ID, c.BackchannelLogoutURI, token, now)
	return err
}

// logoutToken is the signed logout token (OpenID Connect Back-Channel
// Logout 1.0, section 2.4).
func (p *Provider) logoutToken(clientID, alg, accountID, sessionID string) (string, error) {
	if alg == "" {
		alg = keys.RS256
	}
	k, err := p.deps.Signer.Signer(alg)
	if err != nil {
		return "", err
	}
	jti, _ := keys.NewToken()
	now := p.deps.Now()
	claims := map[string]any{
		"iss": p.cfg.Issuer, "aud": clientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": jti[:22],
		"sub": accountID, "events": map[string]any{logoutEvent: map[string]any{}},
	}
	if sessionID != "" {
		claims["sid"] = sessionSID(sessionID)
	}
	payload, err := jsonMarshal(claims)
	if err != nil {
		return "", err
	}
	return sign(k, "logout+jwt", payload)
}

// DeliverLogouts posts due logout tokens; each replica calls it
// periodically. A row is leased by a compare-and-swap on next_at, so two
// replicas never post the same token at once.
func (p *Provider) DeliverLogouts(ctx context.Context) (int, error) {
	now := p.deps.Now()
	rows, err := p.store.db.Query(ctx, `SELECT id, uri, token, attempts, next_at FROM oidc_logout_outbox WHERE next_at <= $1 ORDER BY next_at LIMIT 50`, sqldb.Micros(now))
	if err != nil {
		return 0, err
	}
	type item struct {
		id, uri, token string
		attempts       int
		next           int64
	}
	var due []item
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.id, &it.uri, &it.token, &it.attempts, &it.next); err != nil {
			rows.Close()
			return 0, sqldb.Classify(err)
		}
		due = append(due, it)
	}
	rows.Close()
	delivered := 0
	for _, it := range due {
		lease := sqldb.Micros(now.Add(time.Minute))
		res, err := p.store.db.Exec(ctx, `UPDATE oidc_logout_outbox SET next_at = $3 WHERE id = $1 AND next_at = $2`, it.id, it.next, lease)
		if err != nil {
			return delivered, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue // another replica has it
		}
		err = postLogout(ctx, it.uri, it.token)
		if err == nil {
			if _, err := p.store.db.Exec(ctx, `DELETE FROM oidc_logout_outbox WHERE id = $1`, it.id); err != nil {
				return delivered, err
			}
			delivered++
			continue
		}
		attempts := it.attempts + 1
		if attempts >= logoutMaxAttempts {
			p.deps.Log.WarnContext(ctx, "back-channel logout given up", "uri", redactURI(it.uri), "attempts", attempts, "err", err)
			_, _ = p.store.db.Exec(ctx, `DELETE FROM oidc_logout_outbox WHERE id = $1`, it.id)
			continue
		}
		backoff := time.Duration(1<<min(attempts, 12)) * 10 * time.Second
		if _, err2 := p.store.db.Exec(ctx, `UPDATE oidc_logout_outbox SET attempts = $2, next_at = $3, last_error = $4 WHERE id = $1`,
			it.id, attempts, sqldb.Micros(now.Add(backoff)), truncateErr(err)); err2 != nil {
			return delivered, err2
		}
	}
	return delivered, nil
}

func postLogout(ctx context.Context, uri, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := logoutHTTP.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func redactURI(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid)"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

func truncateErr(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
