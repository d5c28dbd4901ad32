package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
)

func runKeys(ctx context.Context, env *environment, args []string) int {
	return dispatch(ctx, env, "keys", args, []command{
		{"list", "list the signing keys and their states", runKeysList},
		{"rotate", "add the next signing keys (published now, signing after max-token-lifetime)", runKeysRotate},
		{"rotate-master", "re-wrap every data key under a new master key while replicas keep serving", runKeysRotateMaster},
		{"new-master-key", "write a new random master key file (mode 0600) for a production set-up", runKeysNewMaster},
	})
}

// keysCommand is the common shape of the keys subcommands: parse, validate,
// open the migrated database, run.
type keysCommand struct {
	storage storageOptions
	keys    keyOptions
	log     logOptions
	JSON    bool
}

func (k *keysCommand) flags(name, synopsis string) *config.Set {
	s := config.NewSet("gosid "+name, synopsis)
	k.storage.register(s)
	k.keys.register(s)
	k.log.register(s, "warn")
	return s
}

// prepare parses and validates; it returns false with the exit code when the
// command must stop.
func (k *keysCommand) prepare(ctx context.Context, env *environment, s *config.Set, args []string, extra func(p *config.Problems)) (int, bool) {
	p, ok := env.parse(s, args)
	if !ok {
		return exitOK, false
	}
	k.storage.resolve()
	k.keys.check(s, &p)
	if extra != nil {
		extra(&p)
	}
	if db := k.storage.check(ctx, s, &p); db != nil {
		db.Close()
	}
	if !env.report(p) {
		return exitConfig, false
	}
	return 0, true
}

// manager opens the database and the signing keys with the existing master
// key (never creating one).
func (k *keysCommand) manager(ctx context.Context, env *environment) (*keys.Manager, func(), int, error) {
	km, _, done, code, err := k.open(ctx, env)
	return km, done, code, err
}

// open opens the migrated database and the keys; done closes the database.
func (k *keysCommand) open(ctx context.Context, env *environment) (*keys.Manager, *sqldb.DB, func(), int, error) {
	log := k.log.logger(env.stderr)
	db, err := k.storage.openMigrated(ctx, true, log)
	if err != nil {
		return nil, nil, nil, exitFailed, err
	}
	km, err := keys.OpenWithMasterKeyFile(ctx, db, k.storage.MasterKeyFile, false, k.keys.managerOptions(log))
	if err != nil {
		db.Close()
		return nil, nil, nil, keysFailure(err), err
	}
	return km, db, func() { db.Close() }, 0, nil
}

// keysFailure is the exit code of a failure to open the keys: a problem
// with the master key file is the operator's to fix.
func keysFailure(err error) int {
	var mk *keys.MasterKeyFileError
	if errors.As(err, &mk) {
		return exitConfig
	}
	return exitFailed
}

func (env *environment) fail(code int, err error) int {
	fmt.Fprintf(env.stderr, "gosid: %v\n", err)
	return code
}

func runKeysList(ctx context.Context, env *environment, args []string) int {
	var k keysCommand
	s := k.flags("keys list", "Lists the signing keys with their states: published (not yet signing), active, retiring (published, no longer signing), retired, withdrawn.")
	s.Bool(&k.JSON, "json", false, "Print JSON.")
	return k.listAfter(ctx, env, s, args, nil)
}

func runKeysRotate(ctx context.Context, env *environment, args []string) int {
	var k keysCommand
	var emergency bool
	s := k.flags("keys rotate", "Adds the next ES256 and RS256 signing keys. They are published at once and sign after max-token-lifetime; the current keys stay published until what they signed has expired. Running servers pick the change up within key-refresh-interval.")
	s.Bool(&emergency, "emergency", false, "For a compromised key: the new keys sign at once and every earlier key leaves the JWKS at once (tokens they signed stop verifying).")
	s.Bool(&k.JSON, "json", false, "Print JSON.")
	return k.listAfter(ctx, env, s, args, func(km *keys.Manager) error {
		_, err := km.Rotate(ctx, keys.RotateOptions{Emergency: emergency})
		return err
	})
}

// listAfter parses and validates, opens the keys, makes the change (if
// any) and prints the keys as they are then.
func (k *keysCommand) listAfter(ctx context.Context, env *environment, s *config.Set, args []string, change func(*keys.Manager) error) int {
	if code, ok := k.prepare(ctx, env, s, args, nil); !ok {
		return code
	}
	km, done, code, err := k.manager(ctx, env)
	if err != nil {
		return env.fail(code, err)
	}
	defer done()
	if change != nil {
		if err := change(km); err != nil {
			return env.fail(exitFailed, err)
		}
	}
	list, err := km.List(ctx)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	printKeys(env.stdout, list, k.JSON)
	return exitOK
}

func runKeysRotateMaster(ctx context.Context, env *environment, args []string) int {
	var k keysCommand
	var newFile string
	s := k.flags("keys rotate-master", "Re-wraps every data key under a new master key. Running replicas keep serving (they hold the unwrapped data keys); restart each with --master-key-file pointing to the new key. Generates the new key file when it does not exist.")
	s.String(&newFile, "new-master-key-file", "", "The new master key file (created with mode 0600 when missing).")
	if code, ok := k.prepare(ctx, env, s, args, func(p *config.Problems) {
		if newFile == "" {
			p.Add("%s: required", s.Source("new-master-key-file"))
		}
	}); !ok {
		return code
	}
	log := k.log.logger(env.stderr)
	db, err := k.storage.openMigrated(ctx, true, log)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	defer db.Close()
	old, _, err := keys.LoadMasterKey(k.storage.MasterKeyFile, false)
	if err != nil {
		return env.fail(exitConfig, err)
	}
	next, created, err := keys.LoadMasterKey(newFile, true)
	if err != nil {
		return env.fail(exitConfig, err)
	}
	n, err := keys.RotateMaster(ctx, db, old, next)
	if err != nil {
		code := exitFailed
		if errors.Is(err, keys.ErrWrongMasterKey) {
			code = exitConfig
		}
		return env.fail(code, err)
	}
	if created {
		fmt.Fprintf(env.stdout, "Created new master key %s in %s.\n", next.ID(), newFile)
	}
	fmt.Fprintf(env.stdout, "Re-wrapped %d data key(s) from master key %s to %s.\nNow restart every replica with --master-key-file %s, then destroy the old key file.\n", n, old.ID(), next.ID(), newFile)
	return exitOK
}

func runKeysNewMaster(ctx context.Context, env *environment, args []string) int {
	var out string
	s := config.NewSet("gosid keys new-master-key", "Writes a new random master key (32 bytes, base64) to a file that must not exist yet, with mode 0600.")
	s.String(&out, "out", "", "The file to create.")
	p, ok := env.parse(s, args)
	if !ok {
		return exitOK
	}
	if out == "" {
		p.Add("%s: required", s.Source("out"))
	}
	if !env.report(p) {
		return exitConfig
	}
	key, err := keys.GenerateMasterKeyFile(out)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	fmt.Fprintf(env.stdout, "Created master key %s in %s. Keep a backup: without it no stored key can be decrypted.\n", key.ID(), out)
	return exitOK
}

func printKeys(w io.Writer, list []keys.KeyInfo, asJSON bool) {
	if asJSON {
		writeJSON(w, append([]keys.KeyInfo{}, list...))
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSEQ\tSTATE\tCREATED\tSIGNS FROM\tSIGNS UNTIL\tLEAVES JWKS")
	for _, k := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.Seq, k.State,
			fmtTime(k.Created), fmtTime(k.SignsFrom), fmtTime(k.SignsUntil), fmtTime(k.RetiresAt))
	}
	tw.Flush()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
