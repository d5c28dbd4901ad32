package oidc

import (
	"context"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// SiteGrant is a site the citizen shares data with, for the account centre.
type SiteGrant struct {
	ClientID   string
	ClientName string
	Scopes     []string
	GrantedAt  time.Time
}

// Grants lists the sites the account has allowed, with their names.
func (p *Provider) Grants(ctx context.Context, accountID string) ([]SiteGrant, error) {
	gs, err := p.store.grants(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]SiteGrant, 0, len(gs))
	for _, g := range gs {
		sg := SiteGrant{ClientID: g.ClientID, Scopes: g.Scopes, GrantedAt: g.GrantedAt, ClientName: g.ClientID}
		if c, err := p.deps.Clients.Get(ctx, g.ClientID); err == nil {
			sg.ClientName = c.Name
		}
		out = append(out, sg)
	}
	return out, nil
}

// RevokeGrant withdraws the account's consent for a site: the grant goes,
// the site's refresh tokens for the account are revoked (their families, so
// the access tokens they issued stop introspecting as active), and the site
// is sent a back-channel logout. The next sign-in there asks for consent.
// It runs in q: the provider's database, or a caller's transaction that
// writes the revocation's activity-log entry with it; the cache forgets
// the tokens once that commits.
func (p *Provider) RevokeGrant(ctx context.Context, q sqldb.Runner, accountID, clientID string) error {
	return q.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := p.store.deleteGrant(ctx, tx, accountID, clientID); err != nil {
			return err
		}
		families, err := p.store.families(ctx, tx, accountID, clientID)
		if err != nil {
			return err
		}
		if err := p.revokeFamilies(ctx, tx, families); err != nil {
			return err
		}
		tx.AfterCommit(func() { p.store.forgetTokens(families...) })
		// Without a sid: every session of the account at the site ends.
		return p.queueLogout(ctx, tx, logoutArgs{ClientID: clientID, AccountID: accountID})
	})
}
