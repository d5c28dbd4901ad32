package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
)

// Back-channel logout: when a citizen's SSO session ends (sign-out at
// Gosid, RP-initiated logout, a revoked grant), every client that received
// tokens in that session and registered a backchannel_logout_uri gets a
// signed logout token by a direct POST. Each delivery is a durable job
// (internal/jobs), enqueued in the transaction that revokes the session's
// tokens, so that a client that is down gets it later: delivery is retried
// with back-off for about a day, by whichever replica is free. The job
// holds no token: each attempt signs a fresh one (a logout token lives two
// minutes; a retry an hour later needs a new one).

const (
	logoutEvent       = "http://schemas.openid.net/event/backchannel-logout"
	logoutMaxAttempts = 12
)

var logoutHTTP = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// logoutArgs are one back-channel logout to deliver: to a client, for an
// account, for one session (SID, the token's sid claim) or, empty, for
// every session of the account there.
type logoutArgs struct {
	ClientID  string `json:"client_id"`
	AccountID string `json:"account_id"`
	SID       string `json:"sid,omitempty"`
}

func (logoutArgs) Kind() string { return "oidc.backchannel_logout" }

// logoutBackoff is the wait after failed attempt n: 20 s, 40 s, … doubling
// up to about 11 hours; 12 attempts span a day.
func logoutBackoff(attempt int) time.Duration {
	return time.Duration(1<<min(attempt, 12)) * 10 * time.Second
}

// registerJobs declares the provider's jobs on q: logout delivery, and the
// hand-over of logouts that an earlier release left in oidc_logout_outbox.
func (p *Provider) registerJobs(q *jobs.Queue) error {
	if err := jobs.Register(q, jobs.Worker[logoutArgs]{Work: p.deliverLogout, Backoff: logoutBackoff, MaxAttempts: logoutMaxAttempts}); err != nil {
		return err
	}
	return q.AddPeriodic(jobs.Periodic{Name: "oidc.logout_outbox", Every: 5 * time.Minute, Run: p.adoptOutbox})
}

// SessionEnded is told of every session that ends (sign-out, RP-initiated
// logout, a session ended in the account centre or with the others after a
// password change or recovery, account deletion): in one transaction it
// revokes the tokens issued in the session — the families of its
// authorization requests and of its refresh tokens, so that its access
// tokens stop working at userinfo and introspection and its refresh tokens
// are refused — and enqueues logout deliveries for the clients that got
// tokens in it. A session that merely expires needs neither: its tokens
// keep their own lifetimes, and its sites learn of it at the next sign-in.
//
// It is idempotent: a sign-out retried after this committed but the
// session's own end failed (the citizen got 503) revokes again, which
// changes nothing, and enqueues no second round of logouts — the first
// call leaves a mark (a row of oidc_revocations under the session's sid,
// kept an hour) that the retry finds.
func (p *Provider) SessionEnded(ctx context.Context, accountID, sessionID string) error {
	var families []string
	err := p.store.db.InTx(ctx, func(tx *sqldb.Tx) (err error) {
		first, err := markSessionEnded(ctx, tx, sessionID, p.deps.Now().Add(sessionEndedMark))
		if err != nil {
			return fmt.Errorf("mark the session ended: %w", err)
		}
		if families, err = p.revokeSession(ctx, tx, sessionID); err != nil {
			return err
		}
		if !first {
			return nil
		}
		return p.queueSessionLogouts(ctx, tx, accountID, sessionID)
	})
	if err == nil {
		p.store.forgetTokens(families...)
	}
	return err
}

// sessionEndedMark is how long SessionEnded's mark is kept: longer than
// any retry of a sign-out.
const sessionEndedMark = time.Hour

// markSessionEnded marks the session ended in q and reports whether it
// was the first to (of racing calls exactly one is: the insert of one
// primary key).
func markSessionEnded(ctx context.Context, q sqldb.Querier, sessionID string, until time.Time) (bool, error) {
	res, err := q.Exec(ctx, `INSERT INTO oidc_revocations (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
		"session-ended:"+sessionSID(sessionID), sqldb.Micros(until))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// revokeSession revokes every token family issued in the session.
// It returns the families, to be forgotten by the cache after the commit.
func (p *Provider) revokeSession(ctx context.Context, q sqldb.Querier, sessionID string) ([]string, error) {
	families, err := sqldb.Strings(ctx, q, `SELECT family_id FROM oidc_auth_requests WHERE session_id = $1 AND family_id IS NOT NULL
		UNION SELECT family_id FROM oidc_refresh_tokens WHERE session_id = $1`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("token families of a session: %w", err)
	}
	if err := p.revokeFamilies(ctx, q, families); err != nil {
		return nil, fmt.Errorf("revoke a session's tokens: %w", err)
	}
	return families, nil
}

// revokeFamilies revokes token families: their refresh tokens go, and
// their access tokens stop working until they would have expired anyway.
func (p *Provider) revokeFamilies(ctx context.Context, q sqldb.Querier, families []string) error {
	until := p.deps.Now().Add(max(p.cfg.Lifetimes.AccessToken, p.cfg.Lifetimes.IDToken))
	for _, f := range families {
		if err := revokeFamily(ctx, q, f, until); err != nil {
			return err
		}
	}
	return nil
}

// queueSessionLogouts enqueues, in tx, logouts for the clients that got
// tokens in the session (sessionID) of the account.
func (p *Provider) queueSessionLogouts(ctx context.Context, tx *sqldb.Tx, accountID, sessionID string) error {
	ids, err := sqldb.Strings(ctx, tx, `SELECT DISTINCT client_id FROM oidc_auth_requests WHERE session_id = $1 AND done`, sessionID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := p.queueLogout(ctx, tx, logoutArgs{ClientID: id, AccountID: accountID, SID: sessionSID(sessionID)}); err != nil {
			return err
		}
	}
	return nil
}

// queueLogout enqueues one logout in tx, unless the client (gone, or
// without a back-channel URI) takes none.
func (p *Provider) queueLogout(ctx context.Context, tx *sqldb.Tx, a logoutArgs) error {
	c, err := p.deps.Clients.Get(ctx, a.ClientID)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		return nil // the client is gone
	case err != nil:
		// Not knowing whether the client takes logouts is no reason to
		// skip one: the transaction fails and the sign-out is retried
		// (a pool exhausted for a moment skipped them silently before).
		return fmt.Errorf("back-channel logout: read the client: %w", err)
	case c.BackchannelLogoutURI == "":
		return nil
	}
	if p.deps.Jobs == nil {
		return errors.New("back-channel logout: no job queue")
	}
	// Unique: a sign-out retried after its revocation committed (the
	// session's end failed) enqueues no second delivery while the first
	// waits.
	_, err = p.deps.Jobs.Enqueue(ctx, tx, a, &jobs.Options{Unique: true})
	return err
}

// deliverLogout is the job: sign a logout token for the client as it is
// registered now, and POST it.
func (p *Provider) deliverLogout(ctx context.Context, job jobs.Job[logoutArgs]) error {
	c, err := p.deps.Clients.Get(ctx, job.Args.ClientID)
	if errors.Is(err, sqldb.ErrNotFound) || (err == nil && c.BackchannelLogoutURI == "") {
		return nil // the client is gone, or no longer takes logouts
	}
	if err != nil {
		return err
	}
	token, err := p.logoutToken(c.ID, c.IDTokenAlg, job.Args.AccountID, job.Args.SID)
	if err != nil {
		return err
	}
	if err := postLogout(ctx, c.BackchannelLogoutURI, token); err != nil {
		if job.Attempt >= logoutMaxAttempts {
			p.deps.Log.WarnContext(ctx, "back-channel logout given up", "uri", redactURI(c.BackchannelLogoutURI), "attempts", job.Attempt, "err", err)
		}
		return fmt.Errorf("back-channel logout to %s: %w", redactURI(c.BackchannelLogoutURI), err)
	}
	return nil
}

// logoutToken is the signed logout token (OpenID Connect Back-Channel
// Logout 1.0, section 2.4); sid is the session's sid claim, empty for all
// of the account's sessions at the client.
func (p *Provider) logoutToken(clientID, alg, accountID, sid string) (string, error) {
	if alg == "" {
		alg = keys.RS256
	}
	k, err := p.deps.Signer.Signer(alg)
	if err != nil {
		return "", err
	}
	jti, _ := bearer.New()
	now := p.deps.Now()
	claims := map[string]any{
		"iss": p.cfg.Issuer, "aud": clientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": jti[:22],
		"sub": accountID, "events": map[string]any{logoutEvent: map[string]any{}},
	}
	if sid != "" {
		claims["sid"] = sid
	}
	payload, err := jsonMarshal(claims)
	if err != nil {
		return "", err
	}
	return sign(k, "logout+jwt", payload)
}

// adoptOutbox hands the logouts that a release before the job queue left
// in oidc_logout_outbox over to the queue: each row's client, subject and
// sid (read from the stored token, which is Gosid's own) become a job, in
// the transaction that deletes the row. Nothing pending at an upgrade is
// lost; once the table is empty this finds nothing, and a later migration
// drops the table.
func (p *Provider) adoptOutbox(ctx context.Context) (int, error) {
	n := 0
	err := p.store.db.InTx(ctx, func(tx *sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, client_id, token FROM oidc_logout_outbox ORDER BY created_at LIMIT 500`)
		if err != nil {
			return err
		}
		type row struct{ id, client, token string }
		var rs []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.client, &r.token); err != nil {
				rows.Close()
				return sqldb.Classify(err)
			}
			rs = append(rs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return sqldb.Classify(err)
		}
		for _, r := range rs {
			var claims struct {
				Sub string `json:"sub"`
				SID string `json:"sid"`
			}
			if err := unverifiedClaims(r.token, &claims); err != nil || claims.Sub == "" {
				p.deps.Log.WarnContext(ctx, "an old back-channel logout could not be read; dropped", "client", r.client)
			} else if err := p.queueLogout(ctx, tx, logoutArgs{ClientID: r.client, AccountID: claims.Sub, SID: claims.SID}); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM oidc_logout_outbox WHERE id = $1`, r.id); err != nil {
				return err
			}
		}
		n = len(rs)
		return nil
	})
	return n, err
}

// unverifiedClaims decodes a compact JWS's payload without checking its
// signature: only for tokens Gosid signed itself and kept in its database.
func unverifiedClaims(token string, v any) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
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
