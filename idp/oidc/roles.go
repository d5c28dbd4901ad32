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

// staffGrants reads the staff roles the account holds now, for a client
// registered for them (client.StaffRoles, only first-party clients); none
// for any other, whatever its claims parameter asks: the claim is not
// among those setClaims releases. They are read at the time of the token
// or the userinfo request, so that a revoked role is gone from the next
// one.
func (ad *adapter) staffGrants(ctx context.Context, c *client.Client, accountID string) ([]staff.Grant, error) {
	if !c.StaffRoles || !c.FirstParty || ad.roles == nil {
		return nil, nil
	}
	return ad.roles.Grants(ctx, accountID)
}

// addStaffRoles puts gosid_roles ([{"role":"officer","org":"agency-x"}])
// into info: the grants of account a (staffGrants). No roles: no claim.
// Staff must be confirmed (idp/staff): an account below confirmed holds
// its grants but they reach no client until it is confirmed again.
func addStaffRoles(info *zoidc.UserInfo, grants []staff.Grant, a *account.Account) {
	if len(grants) == 0 || a == nil || !a.Level.AtLeast(assurance.Confirmed) {
		return
	}
	roles := make([]staffRole, len(grants))
	for i, g := range grants {
		roles[i] = staffRole{Role: string(g.Role), Org: g.Org.Code}
	}
	info.AppendClaims(claimRoles, roles)
}

// userinfoStaffRoles adds gosid_roles to a userinfo answer for the token's
// client; a is the account userinfo already read.
func (ad *adapter) userinfoStaffRoles(ctx context.Context, info *zoidc.UserInfo, tid tokenID, a *account.Account) error {
	c, err := ad.clients.Get(ctx, tid.ClientID)
	if err != nil {
		return err
	}
	grants, err := ad.staffGrants(ctx, c, a.ID)
	if err != nil {
		return err
	}
	addStaffRoles(info, grants, a)
	return nil
}
