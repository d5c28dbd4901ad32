package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/keys/cms"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := dispatch(ctx, &cmdline.Env{Prog: "gosid", Environ: os.Environ(), Stdout: os.Stdout, Stderr: os.Stderr, Process: true}, os.Args[1:])
	stop()
	os.Exit(code)
}

// Exit codes (cmdline's).
const (
	exitOK     = cmdline.ExitOK
	exitFailed = cmdline.ExitFailed
	exitConfig = cmdline.ExitConfig
)

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, &cmdline.Env{Prog: "gosid", Environ: environ, Stdout: stdout, Stderr: stderr}, args)
}

func dispatch(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "", args, []cmdline.Command{
		{Name: "serve", Synopsis: "run the identity provider and the citizen portal", Run: runServe},
		{Name: "portal", Synopsis: "run the citizen portal alone, with its own database, against an identity provider", Run: runPortal},
		{Name: "migrate", Synopsis: "apply the database schema and exit", Run: runMigrate},
		{Name: "backup", Synopsis: "write a consistent backup of the database while Gosid runs (SQLite: VACUUM INTO; PostgreSQL: pg_dump)", Run: runBackup},
		{Name: "restore", Synopsis: "restore a backup into an empty data dir or database", Run: runRestore},
		{Name: "keys", Synopsis: "signing and master keys: list, rotate, rotate-master, new-master-key", Run: runKeys},
		{Name: "accounts", Synopsis: "citizens' accounts: create, import, show, lock, unlock, delete", Run: runAccounts},
		{Name: "clients", Synopsis: "relying parties: create, list, show, update, delete, rotate-secret", Run: runClients},
		{Name: "certs", Synopsis: "e-signature certificates: verify a detached signature as sign-in does", Run: runCerts},
		{Name: "sign", Synopsis: "sign a file with a software key (a detached CMS signature, for e-signature sign-in tests)", Run: cms.RunSign},
		{Name: "audit", Synopsis: "the account activity log: verify the hash chain, export an account's log as CSV", Run: runAudit},
		{Name: "banks", Synopsis: "banks and other upstream OpenID providers: add, list, update, remove", Run: runBanks},
		{Name: "letters", Synopsis: "confirmation codes by registered letter: export (PDF + register), sent (tracking numbers), list", Run: runLetters},
		{Name: "verification", Synopsis: "identity verification: an account's evidence and registry checks (show, recheck)", Run: runVerification},
		{Name: "orgs", Synopsis: "staff organisations (offices, agencies, support): add, list, update", Run: staffGroup("orgs")},
		{Name: "staff", Synopsis: "staff roles of accounts: grant, revoke, list", Run: staffGroup("staff")},
		{Name: "version", Synopsis: "print the version", Run: runVersion},
	})
}
