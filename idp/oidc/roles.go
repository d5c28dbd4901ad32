package oidc

import (
	"context"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/staff"
)

// Roles reads the staff roles an account holds now (staff.Store).
type Roles interface {
	Grants(ctx context.Context, accountID string) ([]staff.Grant, error)
}

// claimRoles is the claim naming the account's staff roles.
const claimRoles = "gosid_roles"

// staffRole is one entry of gosid_roles.
type staffRole struct {
	Role string `json:"role"`
	Org  string `json:"org"`
}

// addStaffRoles puts gosid_roles ([{"role":"officer","org":"agency-x"}])
// into info for a client registered for it (client.StaffRoles, only
// first-party clients), read at the time of the token or the userinfo
// request so that a revoked role is gone from the next one. No roles: no
// claim. Staff must be confirmed (idp/staff): an account below confirmed
// holds its grants but they reach no client until it is confirmed again;
// acct gives the account, read only when there are grants.
// Other clients never get it, whatever their claims parameter asks: the
// claim is not among those setClaims releases.
func (ad *adapter) addStaffRoles(ctx context.Context, info *zoidc.UserInfo, c *client.Client, accountID string, acct func() (*account.Account, error)) error {
	if !c.StaffRoles || !c.FirstParty || ad.roles == nil {
		return nil
	}
	grants, err := ad.roles.Grants(ctx, accountID)
	if err != nil || len(grants) == 0 {
		return err
	}
	a, err := acct()
	if err != nil {
		return err
	}
	if !a.Level.AtLeast(assurance.Confirmed) {
		return nil
	}
	roles := make([]staffRole, len(grants))
	for i, g := range grants {
		roles[i] = staffRole{Role: string(g.Role), Org: g.Org.Code}
	}
	info.AppendClaims(claimRoles, roles)
	return nil
}

// userinfoStaffRoles adds gosid_roles to a userinfo answer for the token's
// client; a is the account userinfo already read.
func (ad *adapter) userinfoStaffRoles(ctx context.Context, info *zoidc.UserInfo, tid tokenID, a *account.Account) error {
	c, err := ad.clients.Get(ctx, tid.ClientID)
	if err != nil {
		return err
	}
	return ad.addStaffRoles(ctx, info, c, a.ID, func() (*account.Account, error) { return a, nil })
}
