package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// runClients runs `gosid clients args…` on db as cmd/gosid wires it, less
// the storage options, with checkPartner standing in for
// verification/bank's check. cmd/gosid's tests run the whole command
// with the real check; these cover what they do not reach.
func runClients(t *testing.T, db *sqldb.DB, checkPartner func(context.Context, *sqldb.DB, string) error, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &cmdline.Env{Prog: "gosid", Stdout: &out, Stderr: &errOut}
	ctx := context.Background()
	code := cmdline.Dispatch(ctx, env, "clients", args, client.Commands(func(ctx context.Context, env *cmdline.Env, args []string, cmd *client.Command) int {
		var asJSON bool
		s := cmdline.NewSet("gosid "+cmd.Name, cmd.Help)
		s.Bool(&asJSON, "json", false, "Print JSON.")
		cmd.Register(s)
		return env.Run(s, args, cmd.Check, func() error {
			return cmd.Run(ctx, client.Env{DB: db, CheckPartner: checkPartner, Out: env.Stdout, JSON: asJSON})
		})
	}))
	return code, out.String(), errOut.String()
}

// TestCommandPartner: `clients create` and `clients update
// --partner` ask the bank check before writing, and write nothing when it
// refuses; an update without --partner does not ask.
func TestCommandPartner(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		var asked []string
		check := func(_ context.Context, _ *sqldb.DB, id string) error {
			asked = append(asked, id)
			if id != "sber" && id != "vtb" {
				return errors.New(`--partner: no bank "` + id + `" (see gosid banks list)`)
			}
			return nil
		}
		jwksFile := filepath.Join(t.TempDir(), "bank.jwks")
		if err := os.WriteFile(jwksFile, []byte(publicJWKS(t)), 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runClients(t, db, check, "create", "--name", "Сбер — партнёрский API", "--auth-method", client.AuthPrivateKeyJWT,
			"--jwks-file", jwksFile, "--grant-types", client.GrantClientCredentials, "--scopes", "partner:confirmations partner:registrations",
			"--partner", "sber", "--json")
		var created client.Metadata
		if err := json.Unmarshal([]byte(stdout), &created); code != cmdline.ExitOK || err != nil {
			t.Fatalf("create: exit %d %v %s", code, err, stderr)
		}
		ctx := context.Background()
		st := client.NewStore(db, time.Now)
		id := created.ClientID

		code, _, stderr = runClients(t, db, check, "update", id, "--partner", "nosuchbank")
		if code != cmdline.ExitFailed || !strings.Contains(stderr, `no bank "nosuchbank"`) {
			t.Fatalf("--partner of no bank: exit %d %q", code, stderr)
		}
		if got, err := st.Get(ctx, id); err != nil || got.Partner != "sber" {
			t.Fatalf("refused partner written: %+v, %v", got, err)
		}

		if code, _, stderr := runClients(t, db, check, "update", id, "--partner", "vtb", "--json"); code != cmdline.ExitOK {
			t.Fatalf("--partner vtb: exit %d %s", code, stderr)
		}
		if got, err := st.Get(ctx, id); err != nil || got.Partner != "vtb" {
			t.Fatalf("partner not changed: %+v, %v", got, err)
		}

		if code, _, stderr := runClients(t, db, check, "update", id, "--name", "ВТБ — партнёрский API"); code != cmdline.ExitOK {
			t.Fatalf("--name: exit %d %s", code, stderr)
		}
		if strings.Join(asked, ",") != "sber,nosuchbank,vtb" {
			t.Fatalf("partner checks asked: %q, want sber,nosuchbank,vtb", asked)
		}
	})
}

// TestCommandUpdateOneID: update takes exactly one client id, reported
// with the other problems before the database is touched.
func TestCommandUpdateOneID(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		noCheck := func(context.Context, *sqldb.DB, string) error {
			t.Error("the partner check ran for a refused command")
			return nil
		}
		for _, args := range [][]string{{"update", "--name", "X"}, {"update", "a", "b", "--name", "X"}} {
			code, _, stderr := runClients(t, db, noCheck, args...)
			if code != cmdline.ExitConfig || stderr != "gosid: give exactly one client id\n" {
				t.Errorf("%v: exit %d %q", args, code, stderr)
			}
		}
	})
}
