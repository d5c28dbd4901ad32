package main

import (
	"context"
	"log/slog"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
)

// runKeys is `gosid keys` (keys/command.go).
func runKeys(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "keys", args, keys.Commands(func(ctx context.Context, env *cmdline.Env, args []string, cmd *keys.Command) int {
		var c dbCommand
		s := c.flags(cmd.Name, cmd.Help, cmd.JSON)
		cmd.Register(s)
		return c.run(ctx, env, s, args, cmd.Keys, cmd.Check, func(o opened) error {
			return cmd.Run(ctx, keys.CommandEnv{DB: o.db, Manager: o.km, MasterKeyFile: c.storage.MasterKeyFile, Out: env.Stdout, JSON: c.JSON})
		})
	}))
}

// dbCommand is the common shape of the commands that work on the database
// (keys, accounts, clients, audit): the storage, key and log options and
// --json; run parses and validates everything, then opens what the
// command needs and calls it.
type dbCommand struct {
	storage storageOptions
	keys    keyOptions
	log     logOptions
	JSON    bool
}

// opened is what a database command works with: the migrated database,
// and the signing keys under the existing master key (never created
// here) when the command asked for them.
type opened struct {
	db  *sqldb.DB
	km  *keys.Manager
	log *slog.Logger
}

func (c *dbCommand) flags(name, synopsis string, json bool) *cmdline.Set {
	s := cmdline.NewSet("gosid "+name, synopsis)
	c.storage.register(s)
	c.keys.register(s)
	c.log.register(s, "warn")
	if json {
		s.Bool(&c.JSON, "json", false, "Print JSON.")
	}
	return s
}

// run parses and validates the options (check adds the command's own
// problems), opens the database (and the keys, withKeys), and runs fn;
// its error decides the exit code (cmdline.Env.Exit).
func (c *dbCommand) run(ctx context.Context, env *cmdline.Env, s *cmdline.Set, args []string, withKeys bool, check func(p *cmdline.Problems), fn func(o opened) error) int {
	return env.Run(s, args, func(p *cmdline.Problems) {
		c.storage.resolve()
		c.keys.check(s, p)
		if check != nil {
			check(p)
		}
		if db := c.storage.check(ctx, s, p); db != nil {
			db.Close()
		}
	}, func() error {
		o := opened{log: c.log.logger(env.Stderr)}
		var err error
		if o.db, err = c.storage.openMigrated(ctx, true, o.log); err != nil {
			return err
		}
		defer o.db.Close()
		if withKeys {
			if o.km, err = keys.OpenWithMasterKeyFile(ctx, o.db, c.storage.MasterKeyFile, false, c.keys.managerOptions(o.log)); err != nil {
				return keys.CommandError(err)
			}
		}
		return fn(o)
	})
}
