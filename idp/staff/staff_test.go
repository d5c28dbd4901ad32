package staff_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

var admin = audit.Actor{Kind: audit.ActorAdmin, ID: "root"}

func office(code string) staff.Org {
	return staff.Org{Code: code, Kind: staff.KindServiceCentre, NameRU: "МФЦ Тверской", Region: "77",
		Address: "Москва, ул. Тверская, 1", Hours: "пн–пт 8–20"}
}

type rig struct {
	env   *idptest.Env
	store *staff.Store
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	e := idptest.NewEnv(t, db, idptest.Options{})
	return &rig{env: e, store: staff.NewStore(db, e.Activity, e.Clock.Now)}
}

// confirmed is a citizen raised to the confirmed level.
func (r *rig) confirmed(t *testing.T) *account.Account {
	t.Helper()
	a := r.env.Citizen(t, "")
	if err := r.env.Accounts.SetLevel(context.Background(), a.ID, a.Level, assurance.Confirmed); err != nil {
		t.Fatal(err)
	}
	return r.env.Account(t, a.ID)
}

func (r *rig) actions(t *testing.T, accountID, action string) int {
	t.Helper()
	entries, err := r.env.Audit.List(context.Background(), accountID, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == action {
			n++
		}
	}
	return n
}

func TestValidate(t *testing.T) {
	if p := office("mfc-77-001").Validate(); len(p) != 0 {
		t.Fatalf("valid org: %v", p)
	}
	bad := staff.Org{Code: "MFC 1", Kind: "bank", NameRU: " ", NameEN: strings.Repeat("x", 201), Region: "7",
		Address: "a\nb", Hours: strings.Repeat("ч", 301)}
	p := bad.Validate()
	for _, field := range []string{"code", "kind", "name_ru", "name_en", "region", "address", "hours"} {
		if !hasPrefix(p, field+":") {
			t.Errorf("no problem names %s: %v", field, p)
		}
	}
	if p := (staff.Org{Code: "ok-1", Kind: staff.KindAgency, NameRU: "x", Region: "00"}).Validate(); len(p) != 1 || !strings.HasPrefix(p[0], "region:") {
		t.Errorf("region 00: %v", p)
	}
}

func hasPrefix(p []string, prefix string) bool {
	for _, s := range p {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestFits(t *testing.T) {
	for _, c := range []struct {
		r  staff.Role
		k  staff.Kind
		ok bool
	}{{staff.RoleOperator, staff.KindPostOffice, true}, {staff.RoleSupervisor, staff.KindPensionOffice, true},
		{staff.RoleOperator, staff.KindAgency, false}, {staff.RoleOfficer, staff.KindAgency, true},
		{staff.RoleOfficer, staff.KindServiceCentre, false}, {staff.RoleAdmin, staff.KindSupport, true},
		{staff.RoleSupport, staff.KindAgency, false}, {"boss", staff.KindSupport, false}} {
		if c.r.Fits(c.k) != c.ok {
			t.Errorf("%s fits %s: want %v", c.r, c.k, c.ok)
		}
	}
}

func TestOrgs(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		o := office("mfc-77-001")
		if err := r.store.AddOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
		if err := r.store.AddOrg(ctx, o); !errors.Is(err, staff.ErrExists) {
			t.Fatalf("second add: %v", err)
		}
		if err := r.store.AddOrg(ctx, staff.Org{Code: "x"}); !errors.Is(err, staff.ErrInvalid) || !strings.Contains(err.Error(), "name_ru") {
			t.Fatalf("invalid add: %v", err)
		}
		post := staff.Org{Code: "post-50-101", Kind: staff.KindPostOffice, NameRU: "Отделение 101", Region: "50"}
		agency := staff.Org{Code: "agency-x", Kind: staff.KindAgency, NameRU: "Ведомство", NameEN: "Agency", Region: "77"}
		for _, o := range []staff.Org{post, agency} {
			if err := r.store.AddOrg(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		got, err := r.store.Org(ctx, "mfc-77-001")
		if err != nil || got.NameRU != o.NameRU || got.Address != o.Address || got.Hours != o.Hours || got.CreatedAt.IsZero() {
			t.Fatalf("org: %+v %v", got, err)
		}
		if _, err := r.store.Org(ctx, "nope"); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("unknown org: %v", err)
		}
		list := func(f staff.Filter) string {
			orgs, err := r.store.Orgs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, o := range orgs {
				codes = append(codes, o.Code)
			}
			return strings.Join(codes, " ")
		}
		for f, want := range map[staff.Filter]string{
			{}:                            "post-50-101 agency-x mfc-77-001",
			{Region: "77"}:                "agency-x mfc-77-001",
			{Kind: staff.KindPostOffice}:  "post-50-101",
			{Offices: true}:               "post-50-101 mfc-77-001",
			{Offices: true, Region: "77"}: "mfc-77-001",
			{Kind: staff.KindSupport}:     "",
		} {
			if got := list(f); got != want {
				t.Errorf("orgs %+v: %q, want %q", f, got, want)
			}
		}

		o.NameEN, o.Hours = "MFC Tverskoy", "daily 9–21"
		r.env.Clock.Advance(time.Hour)
		if err := r.store.UpdateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
		got, _ = r.store.Org(ctx, o.Code)
		if got.NameEN != "MFC Tverskoy" || got.Hours != "daily 9–21" || !got.UpdatedAt.After(got.CreatedAt) || got.Name("en") != "MFC Tverskoy" {
			t.Fatalf("updated: %+v", got)
		}
		if err := r.store.UpdateOrg(ctx, staff.Org{Code: "nope", Kind: staff.KindAgency, NameRU: "x", Region: "77"}); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
		// A kind that a role held in the organisation does not fit is refused.
		a := r.confirmed(t)
		if err := r.store.Grant(ctx, a.ID, staff.RoleOperator, o.Code, admin); err != nil {
			t.Fatal(err)
		}
		o.Kind = staff.KindAgency
		if err := r.store.UpdateOrg(ctx, o); !errors.Is(err, staff.ErrInvalid) || !strings.Contains(err.Error(), "kind:") {
			t.Fatalf("kind change under operators: %v", err)
		}
		o.Kind = staff.KindPostOffice
		if err := r.store.UpdateOrg(ctx, o); err != nil {
			t.Fatalf("kind change to another office: %v", err)
		}
	})
}

func TestGrants(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		for _, o := range []staff.Org{office("mfc-77-001"), office("mfc-77-002"),
			{Code: "agency-x", Kind: staff.KindAgency, NameRU: "Ведомство", Region: "77"}} {
			if err := r.store.AddOrg(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		citizen := r.env.Citizen(t, "")
		if err := r.store.Grant(ctx, citizen.ID, staff.RoleOperator, "mfc-77-001", admin); !errors.Is(err, staff.ErrNotConfirmed) {
			t.Fatalf("grant to a simplified account: %v", err)
		}
		a := r.confirmed(t)
		if err := r.store.Grant(ctx, a.ID, staff.RoleOfficer, "mfc-77-001", admin); !errors.Is(err, staff.ErrInvalid) || !strings.Contains(err.Error(), "role:") {
			t.Fatalf("officer at an office: %v", err)
		}
		if err := r.store.Grant(ctx, a.ID, staff.RoleOperator, "nope", admin); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("unknown org: %v", err)
		}
		for range 2 {
			if err := r.store.Grant(ctx, a.ID, staff.RoleOperator, "mfc-77-001", admin); err != nil {
				t.Fatal(err)
			}
		}
		if n := r.env.Count(t, `SELECT count(*) FROM staff_roles WHERE account_id = $1`, a.ID); n != 1 {
			t.Fatalf("grant twice: %d rows", n)
		}
		if n := r.actions(t, a.ID, audit.ActionStaffGranted); n != 1 {
			t.Fatalf("grant twice: %d log entries", n)
		}
		if n := r.actions(t, citizen.ID, audit.ActionStaffGranted); n != 0 {
			t.Fatalf("refused grant logged: %d", n)
		}
		b := r.confirmed(t)
		if err := r.store.Grant(ctx, b.ID, staff.RoleSupervisor, "mfc-77-001", admin); err != nil {
			t.Fatal(err)
		}
		if err := r.store.Grant(ctx, b.ID, staff.RoleOfficer, "agency-x", admin); err != nil {
			t.Fatal(err)
		}
		g, err := r.store.Grants(ctx, b.ID)
		if err != nil || len(g) != 2 || g[0].Org.Code != "agency-x" || g[0].Role != staff.RoleOfficer || g[1].Role != staff.RoleSupervisor ||
			g[1].GrantedBy != "root" || !g[1].GrantedAt.Equal(r.env.Clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("grants: %+v %v", g, err)
		}
		m := staff.Member{AccountID: b.ID, Grants: g}
		if !m.Has(staff.RoleOfficer) || m.Has(staff.RoleOperator) || len(m.In(staff.RoleSupervisor)) != 1 {
			t.Fatalf("member: %+v", m)
		}
		if act := m.Actor(g[1].Org); act.Kind != audit.ActorOperator || act.ID != "mfc-77-001/"+b.ID {
			t.Fatalf("office actor: %+v", act)
		}
		if act := m.Actor(g[0].Org); act.Kind != audit.ActorStaff || act.ID != "agency-x/"+b.ID {
			t.Fatalf("agency actor: %+v", act)
		}
		if g, err := r.store.Members(ctx, "mfc-77-001"); err != nil || len(g) != 2 {
			t.Fatalf("members of mfc-77-001: %+v %v", g, err)
		}
		if g, err := r.store.Members(ctx, ""); err != nil || len(g) != 3 {
			t.Fatalf("all members: %+v %v", g, err)
		}
		if g, err := r.store.Members(ctx, "mfc-77-002"); err != nil || len(g) != 0 {
			t.Fatalf("members of an empty office: %+v %v", g, err)
		}

		if err := r.store.Revoke(ctx, a.ID, staff.RoleOperator, "mfc-77-001", admin); err != nil {
			t.Fatal(err)
		}
		if err := r.store.Revoke(ctx, a.ID, staff.RoleOperator, "mfc-77-001", admin); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("revoke twice: %v", err)
		}
		if g, err := r.store.Grants(ctx, a.ID); err != nil || len(g) != 0 {
			t.Fatalf("grants after revoke: %+v %v", g, err)
		}
		if n := r.actions(t, a.ID, audit.ActionStaffRevoked); n != 1 {
			t.Fatalf("revocations logged: %d", n)
		}
	})
}
