package staff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
)

// Command is one subcommand of `gosid orgs` (add, list, update) or `gosid
// staff` (grant, revoke, list): its options, its checks before the
// database is opened, and its work on it. cmd/gosid opens the database and
// the keys (Env) and runs it.
type Command struct {
	Name, Synopsis string
	group, sub     string
	s              *cmdline.Set
	org            Org
	kind, region   string
	login, role    string
	// given lists the organisation's options set (orgs update changes
	// only those).
	given []string
}

// Env is what a command works on: the database, the keys the account
// store and the activity log need, and the administrator acting.
type Env struct {
	DB    *sqldb.DB
	Keys  account.AdminKeys
	Log   *slog.Logger
	Actor audit.Actor
	Out   io.Writer
	JSON  bool
}

// Commands are the subcommands of group ("orgs" or "staff"), each run by
// run, which parses the options Register adds and calls Check and Run.
func Commands(group string, run func(ctx context.Context, env *cmdline.Env, args []string, c *Command) int) []cmdline.Command {
	subs := map[string][][2]string{
		"orgs": {{"add", "add an organisation: service centre, post office, pension-fund office, agency, support"},
			{"list", "list organisations, by kind and region"},
			{"update", "change an organisation's details (only the options given)"}},
		"staff": {{"grant", "give an account a staff role in an organisation"},
			{"revoke", "take a staff role from an account"},
			{"list", "list staff and their roles, of one organisation or all"}},
	}[group]
	var out []cmdline.Command
	for _, sc := range subs {
		c := &Command{Name: group + " " + sc[0], Synopsis: sc[1], group: group, sub: sc[0]}
		out = append(out, cmdline.Command{Name: sc[0], Synopsis: sc[1], Run: func(ctx context.Context, env *cmdline.Env, args []string) int {
			return run(ctx, env, args, c)
		}})
	}
	return out
}

// Register adds the subcommand's options to s.
func (c *Command) Register(s *cmdline.Set) {
	c.s = s
	switch c.group + " " + c.sub {
	case "orgs add", "orgs update":
		s.String(&c.org.Code, "code", "", "The organisation's code: 2–40 of a–z, 0–9 and '-' (mfc-77-001).")
		s.String(&c.kind, "kind", "", "What it is: "+kindList()+".")
		s.String(&c.org.NameRU, "name-ru", "", "Its name in Russian («МФЦ района Тверской»).")
		s.String(&c.org.NameEN, "name-en", "", "Its name in English, optional.")
		s.String(&c.org.Region, "region", "", "Two-digit region code (77 Moscow).")
		s.String(&c.org.Address, "address", "", "Address shown to citizens who choose an office.")
		s.String(&c.org.Hours, "hours", "", "Opening hours shown to citizens («пн–пт 8:00–20:00»).")
	case "orgs list":
		s.String(&c.kind, "kind", "", "Only organisations of this kind: "+kindList()+".")
		s.String(&c.region, "region", "", "Only organisations of this two-digit region.")
	case "staff grant", "staff revoke":
		s.String(&c.login, "login", "", "The staff member's account: a verified phone, e-mail or SNILS, or the account id.")
		s.String(&c.role, "role", "", "The role: "+roleList()+".")
		s.String(&c.org.Code, "org", "", "The organisation's code (gosid orgs list).")
	case "staff list":
		s.String(&c.org.Code, "org", "", "Only the staff of this organisation.")
	}
}

// orgOptions are the organisation's options with their fields' names in
// Org.Validate's problems.
var orgOptions = [][2]string{{"code", "code"}, {"kind", "kind"}, {"name-ru", "name_ru"}, {"name-en", "name_en"},
	{"region", "region"}, {"address", "address"}, {"hours", "hours"}}

// Check adds the problems of the options given, each naming its option.
func (c *Command) Check(p *cmdline.Problems) {
	required := func(names ...string) {
		for _, n := range names {
			if !c.s.IsSet(n) {
				p.Add("--%s is required", n)
			}
		}
	}
	c.org.Kind = Kind(c.kind)
	switch c.group + " " + c.sub {
	case "orgs add":
		required("code", "kind", "name-ru", "region")
		c.orgProblems(p)
	case "orgs update":
		required("code")
		for _, o := range orgOptions[1:] {
			if c.s.IsSet(o[0]) {
				c.given = append(c.given, o[1])
			}
		}
		if len(c.given) == 0 {
			p.Add("give at least one option to change: --kind, --name-ru, --name-en, --region, --address, --hours")
		}
		c.orgProblems(p)
	case "orgs list":
		if c.kind != "" && !slices.Contains(Kinds, c.org.Kind) {
			p.Add("%s: %q is not one of %s", c.s.Source("kind"), c.kind, kindList())
		}
		if c.region != "" && !regionRE.MatchString(c.region) {
			p.Add("%s: %q is not a two-digit region code such as 77", c.s.Source("region"), c.region)
		}
	case "staff grant", "staff revoke":
		required("login", "role", "org")
		if c.role != "" && !slices.Contains(Roles, Role(c.role)) {
			p.Add("%s: %q is not one of %s", c.s.Source("role"), c.role, roleList())
		}
	}
}

// orgProblems adds the problems of the organisation's options given, each
// naming where it came from (the missing ones are Check's).
func (c *Command) orgProblems(p *cmdline.Problems) {
	for _, pr := range c.org.Validate() {
		field, rest, _ := strings.Cut(pr, ":")
		for _, opt := range orgOptions {
			if opt[1] == field && c.s.IsSet(opt[0]) {
				p.Add("%s:%s", c.s.Source(opt[0]), rest)
			}
		}
	}
}

// Run does the subcommand.
func (c *Command) Run(ctx context.Context, env Env) error {
	admin, err := account.NewAdmin(env.DB, env.Keys, env.Log, time.Now)
	if err != nil {
		return err
	}
	st := NewStore(env.DB, admin.Activity, time.Now)
	switch c.group + " " + c.sub {
	case "orgs add":
		err := st.AddOrg(ctx, c.org)
		if errors.Is(err, ErrExists) {
			return cmdline.Usage(fmt.Errorf("%s: organisation %q exists already (gosid orgs update changes it)", c.s.Source("code"), c.org.Code))
		}
		return err
	case "orgs update":
		o, err := st.Org(ctx, c.org.Code)
		if err != nil {
			return c.noOrg("code", err)
		}
		c.apply(&o)
		if err := st.UpdateOrg(ctx, o); errors.Is(err, ErrInvalid) {
			return optionError(err)
		} else if err != nil {
			return err
		}
		writeOrgs(env, []Org{o})
		return nil
	case "orgs list":
		orgs, err := st.Orgs(ctx, Filter{Kind: c.org.Kind, Region: c.region})
		if err == nil {
			writeOrgs(env, orgs)
		}
		return err
	case "staff list":
		if c.org.Code != "" {
			if _, err := st.Org(ctx, c.org.Code); err != nil {
				return c.noOrg("org", err)
			}
		}
		grants, err := st.Members(ctx, c.org.Code)
		if err != nil {
			return err
		}
		return writeStaff(ctx, env, admin.Accounts, grants)
	}
	a, err := c.account(ctx, admin.Accounts)
	if err != nil {
		return err
	}
	if c.sub == "revoke" {
		err = st.Revoke(ctx, a.ID, Role(c.role), c.org.Code, env.Actor)
		if errors.Is(err, sqldb.ErrNotFound) {
			return cmdline.Usage(fmt.Errorf("--login, --role, --org: the account holds no %s role in %q (gosid staff list)", c.role, c.org.Code))
		}
		return err
	}
	err = st.Grant(ctx, a.ID, Role(c.role), c.org.Code, env.Actor)
	switch {
	case errors.Is(err, ErrNotConfirmed):
		return cmdline.Usage(fmt.Errorf("%s: the account is at level %s; staff roles need a confirmed account", c.s.Source("login"), a.Level))
	case errors.Is(err, ErrInvalid):
		return optionError(err)
	case errors.Is(err, sqldb.ErrNotFound):
		return c.noOrg("org", err)
	}
	return err
}

// account finds the account --login names: its id, or a verified phone,
// e-mail or SNILS (as account.Store.Find, but telling a login that finds
// nothing, the operator's to fix, from a failing database).
func (c *Command) account(ctx context.Context, accounts *account.Store) (*account.Account, error) {
	if a, err := accounts.Get(ctx, c.login); err == nil {
		return a, nil
	}
	kind, value, err := validate.Login(c.login)
	if err != nil {
		return nil, cmdline.Usage(fmt.Errorf("%s: %q is neither an account id nor a phone, e-mail or SNILS", c.s.Source("login"), c.login))
	}
	a, err := accounts.FindByLogin(ctx, kind, value)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil, cmdline.Usage(fmt.Errorf("%s: no account with that %s", c.s.Source("login"), kind))
	}
	return a, err
}

// optionError is an ErrInvalid of the store ("staff: invalid: role: …")
// as the option to fix ("--role: …").
func optionError(err error) error {
	return cmdline.Usage(errors.New("--" + strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")))
}

func (c *Command) noOrg(opt string, err error) error {
	if errors.Is(err, sqldb.ErrNotFound) {
		return cmdline.Usage(fmt.Errorf("%s: no organisation %q (gosid orgs list)", c.s.Source(opt), c.org.Code))
	}
	return err
}

// apply sets the options given on o.
func (c *Command) apply(o *Org) {
	for _, f := range c.given {
		switch f {
		case "kind":
			o.Kind = c.org.Kind
		case "name_ru":
			o.NameRU = c.org.NameRU
		case "name_en":
			o.NameEN = c.org.NameEN
		case "region":
			o.Region = c.org.Region
		case "address":
			o.Address = c.org.Address
		case "hours":
			o.Hours = c.org.Hours
		}
	}
}

type orgJSON struct {
	Code    string `json:"code"`
	Kind    Kind   `json:"kind"`
	NameRU  string `json:"name_ru"`
	NameEN  string `json:"name_en,omitempty"`
	Region  string `json:"region"`
	Address string `json:"address,omitempty"`
	Hours   string `json:"hours,omitempty"`
}

func writeOrgs(env Env, orgs []Org) {
	if env.JSON {
		out := make([]orgJSON, 0, len(orgs))
		for _, o := range orgs {
			out = append(out, orgJSON{o.Code, o.Kind, o.NameRU, o.NameEN, o.Region, o.Address, o.Hours})
		}
		cmdline.WriteJSON(env.Out, out)
		return
	}
	var rows [][]string
	for _, o := range orgs {
		rows = append(rows, []string{o.Code, string(o.Kind), o.Region, o.NameRU, o.Address, o.Hours})
	}
	cmdline.WriteTable(env.Out, []string{"CODE", "KIND", "REGION", "NAME", "ADDRESS", "HOURS"}, rows)
}

type memberJSON struct {
	AccountID string `json:"account_id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	Role      Role   `json:"role"`
	Org       string `json:"org"`
	GrantedAt string `json:"granted_at"`
	GrantedBy string `json:"granted_by"`
}

// writeStaff lists grants with each member's masked login and name.
func writeStaff(ctx context.Context, env Env, accounts *account.Store, grants []Grant) error {
	out := make([]memberJSON, 0, len(grants))
	for _, g := range grants {
		a, err := accounts.Get(ctx, g.AccountID)
		if err != nil {
			return err
		}
		out = append(out, memberJSON{a.ID, MaskedLogin(a), a.Name.Full(), g.Role, g.Org.Code, cmdline.Time(g.GrantedAt), g.GrantedBy})
	}
	if env.JSON {
		cmdline.WriteJSON(env.Out, out)
		return nil
	}
	var rows [][]string
	for _, m := range out {
		rows = append(rows, []string{m.AccountID, m.Login, m.Name, string(m.Role), m.Org, m.GrantedAt, m.GrantedBy})
	}
	cmdline.WriteTable(env.Out, []string{"ACCOUNT", "LOGIN", "NAME", "ROLE", "ORG", "GRANTED", "BY"}, rows)
	return nil
}

// MaskedLogin is the account's first login identifier, masked: a
// verified phone, e-mail or SNILS.
func MaskedLogin(a *account.Account) string {
	switch {
	case a.Phone.Value != "" && !a.Phone.VerifiedAt.IsZero():
		return validate.MaskPhone(a.Phone.Value)
	case a.Email.Value != "" && !a.Email.VerifiedAt.IsZero():
		return validate.MaskEmail(a.Email.Value)
	case a.SNILSVerified():
		return validate.MaskSNILS(a.SNILS)
	}
	return ""
}

func roleList() string {
	s := make([]string, len(Roles))
	for i, r := range Roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
