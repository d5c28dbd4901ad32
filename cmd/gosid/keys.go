package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
)

func runKeys(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "keys", args, []cmdline.Command{
		{Name: "list", Synopsis: "list the signing keys and their states", Run: runKeysList},
		{Name: "rotate", Synopsis: "add the next signing keys (published now, signing after max-token-lifetime)", Run: runKeysRotate},
		{Name: "rotate-master", Synopsis: "re-wrap every data key under a new master key while replicas keep serving", Run: runKeysRotateMaster},
		{Name: "new-master-key", Synopsis: "write a new random master key file (mode 0600) for a production set-up", Run: runKeysNewMaster},
	})
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
				return keysError(err)
			}
		}
		return fn(o)
	})
}

// keysError marks a problem with the master key file as the operator's to
// fix.
func keysError(err error) error {
	var mk *keys.MasterKeyFileError
	if errors.As(err, &mk) {
		return cmdline.Usage(err)
	}
	return err
}

func runKeysList(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	s := c.flags("keys list", "Lists the signing keys with their states: published (not yet signing), active, retiring (published, no longer signing), retired, withdrawn.", true)
	return c.run(ctx, env, s, args, true, nil, func(o opened) error { return c.printKeys(ctx, env, o.km) })
}

func runKeysRotate(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	var emergency bool
	s := c.flags("keys rotate", "Adds the next ES256 and RS256 signing keys. They are published at once and sign after max-token-lifetime; the current keys stay published until what they signed has expired. Running servers pick the change up within key-refresh-interval.", true)
	s.Bool(&emergency, "emergency", false, "For a compromised key: the new keys sign at once and every earlier key leaves the JWKS at once (tokens they signed stop verifying).")
	return c.run(ctx, env, s, args, true, nil, func(o opened) error {
		if _, err := o.km.Rotate(ctx, keys.RotateOptions{Emergency: emergency}); err != nil {
			return err
		}
		return c.printKeys(ctx, env, o.km)
	})
}

func runKeysRotateMaster(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	var newFile string
	s := c.flags("keys rotate-master", "Re-wraps every data key under a new master key. Running replicas keep serving (they hold the unwrapped data keys); restart each with --master-key-file pointing to the new key. Generates the new key file when it does not exist.", false)
	s.String(&newFile, "new-master-key-file", "", "The new master key file (created with mode 0600 when missing).")
	return c.run(ctx, env, s, args, false, func(p *cmdline.Problems) { p.Required(s, "new-master-key-file", newFile) }, func(o opened) error {
		r, err := keys.RotateMasterFile(ctx, o.db, c.storage.MasterKeyFile, newFile)
		if err != nil {
			return keysError(err)
		}
		if r.Created {
			fmt.Fprintf(env.Stdout, "Created new master key %s in %s.\n", r.NewID, newFile)
		}
		fmt.Fprintf(env.Stdout, "Re-wrapped %d data key(s) from master key %s to %s.\nNow restart every replica with --master-key-file %s, then destroy the old key file.\n", r.Rewrapped, r.OldID, r.NewID, newFile)
		return nil
	})
}

func runKeysNewMaster(_ context.Context, env *cmdline.Env, args []string) int {
	var out string
	s := cmdline.NewSet("gosid keys new-master-key", "Writes a new random master key (32 bytes, base64) to a file that must not exist yet, with mode 0600.")
	s.String(&out, "out", "", "The file to create.")
	return env.Run(s, args, func(p *cmdline.Problems) { p.Required(s, "out", out) }, func() error {
		key, err := keys.GenerateMasterKeyFile(out)
		if err == nil {
			fmt.Fprintf(env.Stdout, "Created master key %s in %s. Keep a backup: without it no stored key can be decrypted.\n", key.ID(), out)
		}
		return err
	})
}

// printKeys prints the keys as they are now.
func (c *dbCommand) printKeys(ctx context.Context, env *cmdline.Env, km *keys.Manager) error {
	list, err := km.List(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		cmdline.WriteJSON(env.Stdout, append([]keys.KeyInfo{}, list...))
		return nil
	}
	rows := make([][]string, 0, len(list))
	for _, k := range list {
		rows = append(rows, []string{k.KID, k.Alg, strconv.Itoa(k.Seq), string(k.State),
			cmdline.Time(k.Created), cmdline.Time(k.SignsFrom), cmdline.Time(k.SignsUntil), cmdline.Time(k.RetiresAt)})
	}
	cmdline.WriteTable(env.Stdout, []string{"KID", "ALG", "SEQ", "STATE", "CREATED", "SIGNS FROM", "SIGNS UNTIL", "LEAVES JWKS"}, rows)
	return nil
}
