package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/verification/bank"
)

func runClients(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "clients", args, []cmdline.Command{
		{Name: "create", Synopsis: "register a relying party; prints its client_id and, once, its secret", Run: runClientsCreate},
		{Name: "list", Synopsis: "list the registered clients", Run: runClientsList},
		{Name: "show", Synopsis: "show a client's settings", Run: runClientsShow},
		{Name: "update", Synopsis: "change a client's settings (only the options given)", Run: runClientsUpdate},
		{Name: "delete", Synopsis: "delete a client", Run: runClientsDelete},
		{Name: "rotate-secret", Synopsis: "replace a client's secret; prints the new one, once", Run: runClientsRotateSecret},
	})
}

// propagation tells the operator when running servers see a change.
var propagation = fmt.Sprintf("Running servers apply the change within %s.", client.CacheCheckInterval)

// clientsCommand is the common shape of the clients subcommands. The
// client store needs no master key: nothing in it is sealed.
func clientsCommand(ctx context.Context, env *cmdline.Env, c *dbCommand, s *cmdline.Set, args []string, check func(p *cmdline.Problems), fn func(st *client.Store) error) int {
	return c.run(ctx, env, s, args, false, check, func(o opened) error { return fn(client.NewStore(o.db, time.Now)) })
}

func runClientsCreate(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	var f client.Flags
	var id string
	s := c.flags("clients create", "Registers a relying party and prints its settings with its client_id and, for client_secret_basic and client_secret_post, its secret, which is shown only this once (only a hash is stored). "+propagation, true)
	s.String(&id, f.Field(client.FieldID, "id"), "", "Client id to use instead of a random gsd_… one: 3 to 64 characters from a-z, 0-9, _ and - (stable ids for tests and set-up scripts).")
	f.Register(s, false)
	var cl client.Client
	return c.run(ctx, env, s, args, false, func(p *cmdline.Problems) {
		cl.ID = id
		f.Values(s, true, p).Apply(&cl)
		if err := cl.Validate(); err != nil {
			f.Problems(s, err, p, false)
		}
	}, func(o opened) error {
		if err := bank.CheckPartner(ctx, o.db, cl.Partner); err != nil {
			return err
		}
		created, secret, err := client.NewStore(o.db, time.Now).Create(ctx, cl)
		if errors.Is(err, sqldb.ErrConflict) {
			return fmt.Errorf("client id %q is already taken", cl.ID)
		} else if err == nil {
			printClient(env.Stdout, created, secret, c.JSON)
		}
		return err
	})
}

func runClientsList(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	s := c.flags("clients list", "Lists the registered clients, oldest first.", true)
	return clientsCommand(ctx, env, &c, s, args, nil, func(st *client.Store) error {
		list, err := st.List(ctx)
		if err != nil {
			return err
		}
		meta, rows := make([]client.Metadata, 0, len(list)), make([][]string, 0, len(list))
		for _, cl := range list {
			meta = append(meta, cl.Metadata(""))
			rows = append(rows, []string{cl.ID, cl.Name, cl.AuthMethod, strings.ReplaceAll(cl.ShortGrantTypes(), " ", ""),
				cmdline.YesNo(cl.FirstParty), string(cl.MinLevel), cl.PKCEPolicy()})
		}
		if c.JSON {
			cmdline.WriteJSON(env.Stdout, meta)
		} else {
			cmdline.WriteTable(env.Stdout, []string{"CLIENT ID", "NAME", "AUTH METHOD", "GRANT TYPES", "FIRST PARTY", "MIN LEVEL", "PKCE"}, rows)
		}
		return nil
	})
}

// oneClient runs a subcommand that takes one client id and has no settings
// options; a missing client is worded for the operator.
func oneClient(ctx context.Context, env *cmdline.Env, name, synopsis string, args []string, fn func(c *dbCommand, st *client.Store, id string) error) int {
	var c dbCommand
	s := c.flags("clients "+name, synopsis, true)
	s.AllowArgs("CLIENT_ID")
	return clientsCommand(ctx, env, &c, s, args, func(p *cmdline.Problems) {
		if len(s.Args()) != 1 {
			p.Add("give exactly one client id")
		}
	}, func(st *client.Store) error {
		id := s.Args()[0]
		err := fn(&c, st, id)
		if errors.Is(err, sqldb.ErrNotFound) {
			return fmt.Errorf("no client %q", id)
		}
		return err
	})
}

func runClientsShow(ctx context.Context, env *cmdline.Env, args []string) int {
	return oneClient(ctx, env, "show", "Shows a client's settings (never its secret: only a hash of it is stored).", args,
		func(c *dbCommand, st *client.Store, id string) error {
			cl, err := st.Get(ctx, id)
			if err == nil {
				printClient(env.Stdout, cl, "", c.JSON)
			}
			return err
		})
}

func runClientsUpdate(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	var f client.Flags
	s := c.flags("clients update", "Changes a client's settings: only the options given change, and a list option given replaces the whole list (--post-logout-redirect-uri= empties it). A client switched to client_secret_basic or client_secret_post gets a new secret, printed once. "+propagation, true)
	f.Register(s, true)
	s.AllowArgs("CLIENT_ID")
	var settings client.Settings
	return c.run(ctx, env, s, args, false, func(p *cmdline.Problems) {
		if len(s.Args()) != 1 {
			p.Add("give exactly one client id")
		}
		names := f.Names()
		if !slices.ContainsFunc(names, s.IsSet) {
			p.Add("nothing to change: give at least one of --%s", strings.Join(names, ", --"))
		}
		settings = f.Values(s, false, p)
	}, func(o opened) error {
		id := s.Args()[0]
		if s.IsSet("partner") {
			if err := bank.CheckPartner(ctx, o.db, settings.Partner); err != nil {
				return err
			}
		}
		updated, secret, err := client.NewStore(o.db, time.Now).Change(ctx, id, settings)
		var ve *client.ValidationError
		switch {
		case errors.As(err, &ve):
			var p cmdline.Problems
			f.Problems(s, err, &p, true)
			return p
		case errors.Is(err, sqldb.ErrConflict):
			return fmt.Errorf("client %s was changed by someone else meanwhile; nothing was written, run the command again", id)
		case errors.Is(err, sqldb.ErrNotFound):
			return fmt.Errorf("no client %q", id)
		case err == nil:
			printClient(env.Stdout, updated, secret, c.JSON)
		}
		return err
	})
}

func runClientsDelete(ctx context.Context, env *cmdline.Env, args []string) int {
	return oneClient(ctx, env, "delete", "Deletes a client: it can no longer sign citizens in or obtain tokens. "+propagation, args,
		func(c *dbCommand, st *client.Store, id string) error {
			if err := st.Delete(ctx, id); err != nil {
				return err
			}
			if c.JSON {
				cmdline.WriteJSON(env.Stdout, map[string]any{"client_id": id, "deleted": true})
			} else {
				fmt.Fprintf(env.Stdout, "Deleted client %s. %s\n", id, propagation)
			}
			return nil
		})
}

func runClientsRotateSecret(ctx context.Context, env *cmdline.Env, args []string) int {
	return oneClient(ctx, env, "rotate-secret", "Gives a client_secret_basic or client_secret_post client a new random secret and prints it, once. The old secret stops working here at once and on running servers within "+client.CacheCheckInterval.String()+"; the new one works everywhere at once.", args,
		func(c *dbCommand, st *client.Store, id string) error {
			secret, err := st.RotateSecret(ctx, id)
			switch {
			case errors.Is(err, client.ErrNoSecret):
				return cmdline.Usage(fmt.Errorf("client %s authenticates without a secret (change --auth-method with `gosid clients update` first)", id))
			case err != nil:
				return err
			case c.JSON:
				cmdline.WriteJSON(env.Stdout, map[string]string{"client_id": id, "client_secret": secret})
			default:
				fmt.Fprintf(env.Stdout, "client_id      %s\nclient_secret  %s\n\n%s\n", id, secret, secretOnce(id))
			}
			return nil
		})
}

func secretOnce(id string) string {
	return fmt.Sprintf("The client secret is shown only this once: store it now. `gosid clients rotate-secret %s` replaces it.", id)
}

// printClient prints a client and, when not empty, its secret, which the
// caller shows only this once.
func printClient(w io.Writer, c *client.Client, secret string, asJSON bool) {
	if asJSON {
		cmdline.WriteJSON(w, c.Metadata(secret))
		return
	}
	cmdline.WritePairs(w, c.Rows(secret))
	if secret != "" {
		fmt.Fprintf(w, "\n%s\n", secretOnce(c.ID))
	}
}
