package keys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
)

// Command is one subcommand of `gosid keys` (list, rotate, rotate-master,
// new-master-key): its options, its checks before the database is opened,
// and its work. cmd/gosid opens the database and the keys (CommandEnv)
// and runs it; new-master-key, which needs neither, runs itself.
type Command struct {
	// Name is "keys list" and so on; Synopsis is the one line of `gosid
	// keys`, Help the text of the subcommand's own --help. JSON says
	// whether it takes --json, Keys whether it works on the signing keys
	// (CommandEnv.Manager).
	Name, Synopsis, Help string
	JSON, Keys           bool
	sub                  string
	s                    *cmdline.Set
	emergency            bool
	file                 string
}

// CommandEnv is what a command works on: the migrated database, the
// signing keys (Command.Keys), the master key file given, and where its
// output goes.
type CommandEnv struct {
	DB            *sqldb.DB
	Manager       *Manager
	MasterKeyFile string
	Out           io.Writer
	JSON          bool
}

// Commands are the subcommands of `gosid keys`. run runs those that work
// on the database: it parses the options Register adds (after the storage,
// keys and log options, and --json where JSON says) and calls Check and
// Run. new-master-key, which writes a file only, runs itself.
func Commands(run func(ctx context.Context, env *cmdline.Env, args []string, c *Command) int) []cmdline.Command {
	subs := []Command{
		{sub: "list", Synopsis: "list the signing keys and their states", JSON: true, Keys: true,
			Help: "Lists the signing keys with their states: published (not yet signing), active, retiring (published, no longer signing), retired, withdrawn."},
		{sub: "rotate", Synopsis: "add the next signing keys (published now, signing after max-token-lifetime)", JSON: true, Keys: true,
			Help: "Adds the next ES256 and RS256 signing keys. They are published at once and sign after max-token-lifetime; the current keys stay published until what they signed has expired. Running servers pick the change up within key-refresh-interval."},
		{sub: "rotate-master", Synopsis: "re-wrap every data key under a new master key while replicas keep serving",
			Help: "Re-wraps every data key under a new master key. Running replicas keep serving (they hold the unwrapped data keys); restart each with --master-key-file pointing to the new key. Generates the new key file when it does not exist."},
		{sub: "new-master-key", Synopsis: "write a new random master key file (mode 0600) for a production set-up",
			Help: "Writes a new random master key (32 bytes, base64) to a file that must not exist yet, with mode 0600."},
	}
	out := make([]cmdline.Command, 0, len(subs))
	for _, sc := range subs {
		out = append(out, cmdline.Command{Name: sc.sub, Synopsis: sc.Synopsis, Run: func(ctx context.Context, env *cmdline.Env, args []string) int {
			// A fresh Command per run: it holds the parsed options.
			c := sc
			c.Name = "keys " + sc.sub
			if c.sub == "new-master-key" {
				s := cmdline.NewSet("gosid "+c.Name, c.Help)
				c.Register(s)
				return env.Run(s, args, c.Check, func() error { return c.Run(ctx, CommandEnv{Out: env.Stdout}) })
			}
			return run(ctx, env, args, &c)
		}})
	}
	return out
}

// Register adds the subcommand's options to s.
func (c *Command) Register(s *cmdline.Set) {
	c.s = s
	switch c.sub {
	case "rotate":
		s.Bool(&c.emergency, "emergency", false, "For a compromised key: the new keys sign at once and every earlier key leaves the JWKS at once (tokens they signed stop verifying).")
	case "rotate-master":
		s.String(&c.file, "new-master-key-file", "", "The new master key file (created with mode 0600 when missing).")
	case "new-master-key":
		s.String(&c.file, "out", "", "The file to create.")
	}
}

// Check adds the problems of the options given, each naming its option.
func (c *Command) Check(p *cmdline.Problems) {
	switch c.sub {
	case "rotate-master":
		p.Required(c.s, "new-master-key-file", c.file)
	case "new-master-key":
		p.Required(c.s, "out", c.file)
	}
}

// Run does the subcommand. A problem with a master key file is the
// operator's to fix (CommandError).
func (c *Command) Run(ctx context.Context, env CommandEnv) error {
	switch c.sub {
	case "rotate":
		if _, err := env.Manager.Rotate(ctx, RotateOptions{Emergency: c.emergency}); err != nil {
			return err
		}
	case "rotate-master":
		r, err := RotateMasterFile(ctx, env.DB, env.MasterKeyFile, c.file)
		if err != nil {
			return CommandError(err)
		}
		if r.Created {
			fmt.Fprintf(env.Out, "Created new master key %s in %s.\n", r.NewID, c.file)
		}
		fmt.Fprintf(env.Out, "Re-wrapped %d data key(s) from master key %s to %s.\nNow restart every replica with --master-key-file %s, then destroy the old key file.\n", r.Rewrapped, r.OldID, r.NewID, c.file)
		return nil
	case "new-master-key":
		key, err := GenerateMasterKeyFile(c.file)
		if err == nil {
			fmt.Fprintf(env.Out, "Created master key %s in %s. Keep a backup: without it no stored key can be decrypted.\n", key.ID(), c.file)
		}
		return err
	}
	return printKeys(ctx, env)
}

// CommandError is err as a command reports it: a problem with a master
// key file (MasterKeyFileError) is the operator's to fix (cmdline.Usage),
// anything else a failure.
func CommandError(err error) error {
	if errors.As(err, new(*MasterKeyFileError)) {
		return cmdline.Usage(err)
	}
	return err
}

// printKeys prints the keys as they are now.
func printKeys(ctx context.Context, env CommandEnv) error {
	list, err := env.Manager.List(ctx)
	if err != nil {
		return err
	}
	if env.JSON {
		cmdline.WriteJSON(env.Out, append([]KeyInfo{}, list...))
		return nil
	}
	rows := make([][]string, 0, len(list))
	for _, k := range list {
		rows = append(rows, []string{k.KID, k.Alg, strconv.Itoa(k.Seq), string(k.State),
			cmdline.Time(k.Created), cmdline.Time(k.SignsFrom), cmdline.Time(k.SignsUntil), cmdline.Time(k.RetiresAt)})
	}
	cmdline.WriteTable(env.Out, []string{"KID", "ALG", "SEQ", "STATE", "CREATED", "SIGNS FROM", "SIGNS UNTIL", "LEAVES JWKS"}, rows)
	return nil
}
