package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
)

// Command is one subcommand of `gosid clients` (create, list, show,
// update, delete, rotate-secret): its options, its checks before the
// database is opened, and its work on it. cmd/gosid opens the database
// (Env) and runs it, as it does idp/staff's commands.
type Command struct {
	// Name is "clients create" and so on; Synopsis is the one line of
	// `gosid clients`, Help the text of the subcommand's own --help.
	Name, Synopsis, Help string
	sub                  string
	s                    *cmdline.Set
	flags                Flags
	id                   string
	client               Client
	settings             Settings
}

// Env is what a command works on: the database, the check that a
// --partner names a registered bank (verification/bank, which idp may
// not import), and where its output goes.
type Env struct {
	DB           *sqldb.DB
	CheckPartner func(ctx context.Context, db *sqldb.DB, id string) error
	Out          io.Writer
	JSON         bool
}

// propagation tells the operator when running servers see a change.
var propagation = fmt.Sprintf("Running servers apply the change within %s.", CacheCheckInterval)

// Commands are the subcommands of `gosid clients`, each run by run, which
// parses the options Register adds and calls Check and Run. The client
// store needs no master key: nothing in it is sealed.
func Commands(run func(ctx context.Context, env *cmdline.Env, args []string, c *Command) int) []cmdline.Command {
	subs := [][3]string{
		{"create", "register a relying party; prints its client_id and, once, its secret",
			"Registers a relying party and prints its settings with its client_id and, for client_secret_basic and client_secret_post, its secret, which is shown only this once (only a hash is stored). " + propagation},
		{"list", "list the registered clients", "Lists the registered clients, oldest first."},
		{"show", "show a client's settings", "Shows a client's settings (never its secret: only a hash of it is stored)."},
		{"update", "change a client's settings (only the options given)",
			"Changes a client's settings: only the options given change, and a list option given replaces the whole list (--post-logout-redirect-uri= empties it). A client switched to client_secret_basic or client_secret_post gets a new secret, printed once. " + propagation},
		{"delete", "delete a client", "Deletes a client: it can no longer sign citizens in or obtain tokens. " + propagation},
		{"rotate-secret", "replace a client's secret; prints the new one, once",
			"Gives a client_secret_basic or client_secret_post client a new random secret and prints it, once. The old secret stops working here at once and on running servers within " + CacheCheckInterval.String() + "; the new one works everywhere at once."},
	}
	out := make([]cmdline.Command, 0, len(subs))
	for _, sc := range subs {
		out = append(out, cmdline.Command{Name: sc[0], Synopsis: sc[1], Run: func(ctx context.Context, env *cmdline.Env, args []string) int {
			// A fresh Command per run: it holds the parsed options.
			return run(ctx, env, args, &Command{Name: "clients " + sc[0], Synopsis: sc[1], Help: sc[2], sub: sc[0]})
		}})
	}
	return out
}

// Register adds the subcommand's options to s (after the storage options
// cmd/gosid adds).
func (c *Command) Register(s *cmdline.Set) {
	c.s = s
	switch c.sub {
	case "create":
		s.String(&c.id, c.flags.Field(FieldID, "id"), "", "Client id to use instead of a random gsd_… one: 3 to 64 characters from a-z, 0-9, _ and - (stable ids for tests and set-up scripts).")
		c.flags.Register(s, false)
	case "update":
		c.flags.Register(s, true)
		s.AllowArgs("CLIENT_ID")
	case "show", "delete", "rotate-secret":
		s.AllowArgs("CLIENT_ID")
	}
}

// Check adds the problems of the options and arguments given, each naming
// its option.
func (c *Command) Check(p *cmdline.Problems) {
	switch c.sub {
	case "create":
		c.client.ID = c.id
		c.flags.Values(c.s, true, p).Apply(&c.client)
		if err := c.client.Validate(); err != nil {
			c.flags.Problems(c.s, err, p, false)
		}
	case "update":
		if len(c.s.Args()) != 1 {
			p.Add("give exactly one client id")
		}
		names := c.flags.Names()
		if !slices.ContainsFunc(names, c.s.IsSet) {
			p.Add("nothing to change: give at least one of --%s", strings.Join(names, ", --"))
		}
		c.settings = c.flags.Values(c.s, false, p)
	case "show", "delete", "rotate-secret":
		if len(c.s.Args()) != 1 {
			p.Add("give exactly one client id")
		}
	}
}

// Run does the subcommand.
func (c *Command) Run(ctx context.Context, env Env) error {
	st := NewStore(env.DB, time.Now)
	switch c.sub {
	case "create":
		return c.create(ctx, env, st)
	case "list":
		return list(ctx, env, st)
	case "update":
		return c.update(ctx, env, st)
	}
	id := c.s.Args()[0]
	err := c.one(ctx, env, st, id)
	if errors.Is(err, sqldb.ErrNotFound) {
		return fmt.Errorf("no client %q", id)
	}
	return err
}

func (c *Command) create(ctx context.Context, env Env, st *Store) error {
	if err := env.CheckPartner(ctx, env.DB, c.client.Partner); err != nil {
		return err
	}
	created, secret, err := st.Create(ctx, c.client)
	if errors.Is(err, sqldb.ErrConflict) {
		return fmt.Errorf("client id %q is already taken", c.client.ID)
	} else if err == nil {
		printClient(env.Out, created, secret, env.JSON)
	}
	return err
}

func list(ctx context.Context, env Env, st *Store) error {
	clients, err := st.List(ctx)
	if err != nil {
		return err
	}
	meta, rows := make([]Metadata, 0, len(clients)), make([][]string, 0, len(clients))
	for _, cl := range clients {
		meta = append(meta, cl.Metadata(""))
		rows = append(rows, []string{cl.ID, cl.Name, cl.AuthMethod, strings.ReplaceAll(cl.ShortGrantTypes(), " ", ""),
			cmdline.YesNo(cl.FirstParty), string(cl.MinLevel), cl.PKCEPolicy()})
	}
	if env.JSON {
		cmdline.WriteJSON(env.Out, meta)
	} else {
		cmdline.WriteTable(env.Out, []string{"CLIENT ID", "NAME", "AUTH METHOD", "GRANT TYPES", "FIRST PARTY", "MIN LEVEL", "PKCE"}, rows)
	}
	return nil
}

func (c *Command) update(ctx context.Context, env Env, st *Store) error {
	id := c.s.Args()[0]
	if c.s.IsSet("partner") {
		if err := env.CheckPartner(ctx, env.DB, c.settings.Partner); err != nil {
			return err
		}
	}
	updated, secret, err := st.Change(ctx, id, c.settings)
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		var p cmdline.Problems
		c.flags.Problems(c.s, err, &p, true)
		return p
	case errors.Is(err, sqldb.ErrConflict):
		return fmt.Errorf("client %s was changed by someone else meanwhile; nothing was written, run the command again", id)
	case errors.Is(err, sqldb.ErrNotFound):
		return fmt.Errorf("no client %q", id)
	case err == nil:
		printClient(env.Out, updated, secret, env.JSON)
	}
	return err
}

// one does show, delete or rotate-secret on the client id; Run words a
// missing client for the operator.
func (c *Command) one(ctx context.Context, env Env, st *Store, id string) error {
	switch c.sub {
	case "show":
		cl, err := st.Get(ctx, id)
		if err == nil {
			printClient(env.Out, cl, "", env.JSON)
		}
		return err
	case "delete":
		if err := st.Delete(ctx, id); err != nil {
			return err
		}
		if env.JSON {
			cmdline.WriteJSON(env.Out, map[string]any{"client_id": id, "deleted": true})
		} else {
			fmt.Fprintf(env.Out, "Deleted client %s. %s\n", id, propagation)
		}
		return nil
	}
	secret, err := st.RotateSecret(ctx, id)
	switch {
	case errors.Is(err, ErrNoSecret):
		return cmdline.Usage(fmt.Errorf("client %s authenticates without a secret (change --auth-method with `gosid clients update` first)", id))
	case err != nil:
		return err
	case env.JSON:
		cmdline.WriteJSON(env.Out, map[string]string{"client_id": id, "client_secret": secret})
	default:
		fmt.Fprintf(env.Out, "client_id      %s\nclient_secret  %s\n\n%s\n", id, secret, secretOnce(id))
	}
	return nil
}

func secretOnce(id string) string {
	return fmt.Sprintf("The client secret is shown only this once: store it now. `gosid clients rotate-secret %s` replaces it.", id)
}

// printClient prints a client and, when not empty, its secret, which the
// caller shows only this once.
func printClient(w io.Writer, c *Client, secret string, asJSON bool) {
	if asJSON {
		cmdline.WriteJSON(w, c.Metadata(secret))
		return
	}
	cmdline.WritePairs(w, c.Rows(secret))
	if secret != "" {
		fmt.Fprintf(w, "\n%s\n", secretOnce(c.ID))
	}
}
