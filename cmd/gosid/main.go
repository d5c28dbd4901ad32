package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the command ran and failed
	exitConfig = 2 // bad configuration or usage; nothing was written
)

// command is one subcommand.
type command struct {
	name, synopsis string
	run            func(ctx context.Context, env *environment, args []string) int
}

// environment is what a subcommand may use of the process.
type environment struct {
	environ        []string
	stdout, stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the identity provider and the citizen portal", runServe},
		{"migrate", "apply the database schema and exit", runMigrate},
		{"keys", "signing and master keys: list, rotate, rotate-master, new-master-key", runKeys},
		{"accounts", "citizens' accounts: create, show, lock, unlock, delete", runAccounts},
		{"clients", "relying parties: create, list, show, update, delete, rotate-secret", runClients},
		{"certs", "e-signature certificates: verify a detached signature as sign-in does", runCerts},
		{"sign", "sign a file with a software key (a detached CMS signature, for e-signature sign-in tests)", runSign},
		{"audit", "the account activity log: verify the hash chain, export an account's log as CSV", runAudit},
		{"version", "print the version", runVersion},
	}
}

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	env := &environment{environ: environ, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return exitConfig
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	fmt.Fprintf(stderr, "gosid: unknown command %q\n", args[0])
	usage(stderr)
	return exitConfig
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: gosid COMMAND [options]   (gosid COMMAND --help for the options)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.synopsis)
	}
}

// parse parses a subcommand's options and returns the problems found so far,
// to which the command adds its own checks before reporting them all at
// once. It returns false when the command must stop because help was asked
// for (and printed).
func (env *environment) parse(s *config.Set, args []string) (config.Problems, bool) {
	err := s.Parse(args, env.environ)
	if errors.Is(err, config.ErrHelp) {
		fmt.Fprint(env.stdout, s.Usage())
		return nil, false
	}
	var p config.Problems
	if err != nil && !errors.As(err, &p) {
		p.Add("%v", err)
	}
	return p, true
}

// report prints the problems, one per line; it returns false when there
// were any.
func (env *environment) report(p config.Problems) bool {
	if len(p) == 0 {
		return true
	}
	env.problems(p)
	return false
}

// problems prints every problem on a line of its own.
func (env *environment) problems(err error) {
	var p config.Problems
	if errors.As(err, &p) {
		for _, line := range p {
			fmt.Fprintf(env.stderr, "gosid: %s\n", line)
		}
		return
	}
	fmt.Fprintf(env.stderr, "gosid: %v\n", err)
}
