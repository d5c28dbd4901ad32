package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gosid/gosid/idp/assurance"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
)

func runClients(ctx context.Context, env *environment, args []string) int {
	return dispatch(ctx, env, "clients", args, []command{
		{"create", "register a relying party; prints its client_id and, once, its secret", runClientsCreate},
		{"list", "list the registered clients", runClientsList},
		{"show", "show a client's settings", runClientsShow},
		{"update", "change a client's settings (only the options given)", runClientsUpdate},
		{"delete", "delete a client", runClientsDelete},
		{"rotate-secret", "replace a client's secret; prints the new one, once", runClientsRotateSecret},
	})
}

// clientsCommand is the common shape of the clients subcommands: the storage
// options of every command, and --json. The client store needs no master
// key: nothing in it is sealed.
type clientsCommand struct {
	keysCommand
}

func (c *clientsCommand) flags(name, synopsis string) *config.Set {
	s := c.keysCommand.flags("clients "+name, synopsis)
	s.Bool(&c.JSON, "json", false, "Print JSON.")
	return s
}

// store opens the migrated database and the client store.
func (c *clientsCommand) store(ctx context.Context, env *environment) (*client.Store, func(), error) {
	db, err := c.storage.openMigrated(ctx, true, c.log.logger(env.stderr))
	if err != nil {
		return nil, nil, err
	}
	return client.NewStore(db, time.Now), func() { db.Close() }, nil
}

// propagation tells the operator when running servers see a change.
var propagation = fmt.Sprintf("Running servers apply the change within %s.", client.CacheCheckInterval)

// settingsFlags are the options that set a client's settings, shared by
// create and update.
type settingsFlags struct {
	client.Settings
	jwksFile string
}

// settingsNames are the names of the settings options.
var settingsNames = []string{"name", "redirect-uri", "post-logout-redirect-uri", "backchannel-logout-uri", "scopes",
	"grant-types", "auth-method", "jwks-file", "jwks-uri", "first-party", "min-level", "id-token-alg", "access-token-format",
	"pkce", "id-token-claims"}

// flagOf maps the fields of client problems to the options that set them.
var flagOf = map[string]string{
	client.FieldID:                     "id",
	client.FieldName:                   "name",
	client.FieldAuthMethod:             "auth-method",
	client.FieldRedirectURIs:           "redirect-uri",
	client.FieldPostLogoutRedirectURIs: "post-logout-redirect-uri",
	client.FieldBackchannelLogoutURI:   "backchannel-logout-uri",
	client.FieldScopes:                 "scopes",
	client.FieldGrantTypes:             "grant-types",
	client.FieldJWKS:                   "jwks-file",
	client.FieldJWKSURI:                "jwks-uri",
	client.FieldMinLevel:               "min-level",
	client.FieldIDTokenAlg:             "id-token-alg",
	client.FieldAccessTokenFormat:      "access-token-format",
	client.FieldPKCE:                   "pkce",
	client.FieldFirstParty:             "first-party",
	client.FieldIDTokenClaims:          "id-token-claims",
}

// register adds the settings options; for update they have no defaults,
// since only those given change.
func (f *settingsFlags) register(s *config.Set, update bool) {
	def := func(v string) string {
		if update {
			return ""
		}
		return v
	}
	scopeNames := make([]string, 0, len(client.KnownScopes()))
	for _, sc := range client.KnownScopes() {
		scopeNames = append(scopeNames, sc.Name)
	}
	s.String(&f.Name, "name", "", `Name shown to citizens on the consent page, 1 to 100 characters ("Госуслуги Портал").`)
	s.StringList(&f.RedirectURIs, "redirect-uri", nil, "Redirect URI, matched exactly; repeat the flag for several. https; http only on localhost, 127.0.0.1 or [::1]; or a native app's reverse-DNS scheme (com.example.app:/callback).")
	s.StringList(&f.PostLogoutRedirectURIs, "post-logout-redirect-uri", nil, "Where RP-initiated logout may send the citizen back to; repeatable, same rules as --redirect-uri.")
	s.String(&f.BackchannelLogoutURI, "backchannel-logout-uri", "", "URI that receives back-channel logout tokens (https; http only on loopback hosts).")
	s.String(&f.Scopes, "scopes", def("openid"), "Scopes the client may ask for, separated by spaces or commas: "+strings.Join(scopeNames, " ")+". authorization_code clients need openid.")
	s.String(&f.GrantTypes, "grant-types", def(client.GrantAuthorizationCode), "Grant types, comma-separated: authorization_code, refresh_token, client_credentials, device_code (short for "+client.GrantDeviceCode+").")
	s.String(&f.AuthMethod, "auth-method", def(client.AuthSecretBasic), "How the client authenticates at the token endpoint: client_secret_basic, client_secret_post, private_key_jwt (with --jwks-file or --jwks-uri), or none (public clients: native and browser apps, PKCE required).")
	s.String(&f.jwksFile, "jwks-file", "", "File holding the client's public keys as a JWKS, for private_key_jwt.")
	s.String(&f.JWKSURI, "jwks-uri", "", "URL of the client's JWKS, for private_key_jwt, instead of --jwks-file.")
	s.Bool(&f.FirstParty, "first-party", false, "Gosid's own application: citizens are not asked for consent.")
	s.String(&f.MinLevel, "min-level", def(string(assurance.Simplified)), "Lowest assurance level of accounts that may sign in: simplified, standard or confirmed.")
	s.String(&f.IDTokenAlg, "id-token-alg", def(client.AlgRS256), "ID token signature algorithm: RS256 or ES256.")
	s.String(&f.AccessTokenFormat, "access-token-format", def(client.FormatJWT), "Access tokens: jwt (RFC 9068, verifiable by resource servers) or opaque (checked by introspection).")
	s.String(&f.PKCE, "pkce", def(client.PKCERequired), "PKCE (S256 code_challenge) in authorization requests: required, or optional for a legacy confidential client that cannot send one (never for --auth-method none).")
	s.Bool(&f.IDTokenClaims, "id-token-claims", false, "Put the personal data of the consented scopes into ID tokens too (by default they carry only protocol claims, and the data comes from userinfo or the claims parameter): ID tokens come back in logout URLs.")
}

// settings are the options as client settings: all of them for create,
// only those given for update. Problems reading the JWKS file are added to
// p.
func (f *settingsFlags) settings(s *config.Set, all bool, p *config.Problems) client.Settings {
	st := f.Settings
	if !all {
		st.Given = func(field string) bool { return s.IsSet(flagOf[field]) }
	}
	if f.jwksFile != "" {
		b, err := os.ReadFile(f.jwksFile)
		if err != nil {
			p.Add("%s: %v", s.Source("jwks-file"), err)
		}
		st.JWKS = string(b)
	}
	return st
}

// addClientProblems turns a client validation error into problems naming
// the options. For update, a problem with a setting that was not given is
// about its current value.
func addClientProblems(s *config.Set, err error, p *config.Problems, update bool) {
	var ve *client.ValidationError
	if !errors.As(err, &ve) {
		p.Add("%v", err)
		return
	}
	for _, pr := range ve.Problems {
		flag := flagOf[pr.Field]
		var where string
		switch {
		case flag == "" || (flag == "id" && update):
			where = pr.Field
		case s.IsSet(flag):
			where = s.Source(flag)
		case update:
			where = "--" + flag + " (current value)"
		default:
			where = "--" + flag
		}
		p.Add("%s: %s", where, pr.Message)
	}
}

func runClientsCreate(ctx context.Context, env *environment, args []string) int {
	var c clientsCommand
	var f settingsFlags
	var id string
	s := c.flags("create", "Registers a relying party and prints its settings with its client_id and, for client_secret_basic and client_secret_post, its secret, which is shown only this once (only a hash is stored). "+propagation)
	s.String(&id, "id", "", "Client id to use instead of a random gsd_… one: 3 to 64 characters from a-z, 0-9, _ and - (stable ids for tests and set-up scripts).")
	f.register(s, false)
	var cl client.Client
	code, ok := c.prepare(ctx, env, s, args, func(p *config.Problems) {
		cl.ID = id
		f.settings(s, true, p).Apply(&cl)
		if err := cl.Validate(); err != nil {
			addClientProblems(s, err, p, false)
		}
	})
	if !ok {
		return code
	}
	st, done, err := c.store(ctx, env)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	defer done()
	created, secret, err := st.Create(ctx, cl)
	switch {
	case errors.Is(err, sqldb.ErrConflict):
		return env.fail(exitFailed, fmt.Errorf("client id %q is already taken", cl.ID))
	case err != nil:
		return env.fail(exitFailed, err)
	}
	printClient(env.stdout, created, secret, c.JSON)
	return exitOK
}

func runClientsList(ctx context.Context, env *environment, args []string) int {
	var c clientsCommand
	s := c.flags("list", "Lists the registered clients, oldest first.")
	if code, ok := c.prepare(ctx, env, s, args, nil); !ok {
		return code
	}
	st, done, err := c.store(ctx, env)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	defer done()
	list, err := st.List(ctx)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	if c.JSON {
		out := make([]client.Metadata, 0, len(list))
		for _, cl := range list {
			out = append(out, cl.Metadata(""))
		}
		writeJSON(env.stdout, out)
		return exitOK
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tAUTH METHOD\tGRANT TYPES\tFIRST PARTY\tMIN LEVEL\tPKCE")
	for _, cl := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cl.ID, cl.Name, cl.AuthMethod, strings.ReplaceAll(cl.ShortGrantTypes(), " ", ""), yesNo(cl.FirstParty), cl.MinLevel,
			cl.PKCEPolicy())
	}
	tw.Flush()
	return exitOK
}

// oneClient parses a subcommand that takes one client id and has no
// settings options, opens the store and runs fn.
func oneClient(ctx context.Context, env *environment, name, synopsis string, args []string, fn func(c *clientsCommand, st *client.Store, id string) int) int {
	var c clientsCommand
	s := c.flags(name, synopsis)
	s.AllowArgs("CLIENT_ID")
	code, ok := c.prepare(ctx, env, s, args, func(p *config.Problems) {
		if len(s.Args()) != 1 {
			p.Add("give exactly one client id")
		}
	})
	if !ok {
		return code
	}
	st, done, err := c.store(ctx, env)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	defer done()
	return fn(&c, st, s.Args()[0])
}

// notFound words a missing client for the operator.
func notFound(err error, id string) error {
	if errors.Is(err, sqldb.ErrNotFound) {
		return fmt.Errorf("no client %q", id)
	}
	return err
}

func runClientsShow(ctx context.Context, env *environment, args []string) int {
	return oneClient(ctx, env, "show", "Shows a client's settings (never its secret: only a hash of it is stored).", args,
		func(c *clientsCommand, st *client.Store, id string) int {
			cl, err := st.Get(ctx, id)
			if err != nil {
				return env.fail(exitFailed, notFound(err, id))
			}
			printClient(env.stdout, cl, "", c.JSON)
			return exitOK
		})
}

func runClientsUpdate(ctx context.Context, env *environment, args []string) int {
	var c clientsCommand
	var f settingsFlags
	s := c.flags("update", "Changes a client's settings: only the options given change, and a list option given replaces the whole list (--post-logout-redirect-uri= empties it). A client switched to client_secret_basic or client_secret_post gets a new secret, printed once. "+propagation)
	f.register(s, true)
	s.AllowArgs("CLIENT_ID")
	code, ok := c.prepare(ctx, env, s, args, func(p *config.Problems) {
		if len(s.Args()) != 1 {
			p.Add("give exactly one client id")
		}
		changes := false
		for _, n := range settingsNames {
			changes = changes || s.IsSet(n)
		}
		if !changes {
			p.Add("nothing to change: give at least one of --%s", strings.Join(settingsNames, ", --"))
		}
	})
	if !ok {
		return code
	}
	st, done, err := c.store(ctx, env)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	defer done()
	id := s.Args()[0]
	var p config.Problems
	settings := f.settings(s, false, &p)
	if !env.report(p) {
		return exitConfig
	}
	updated, secret, err := st.Change(ctx, id, settings)
	if err != nil {
		var ve *client.ValidationError
		if errors.As(err, &ve) {
			addClientProblems(s, err, &p, true)
			env.report(p)
			return exitConfig
		}
		if errors.Is(err, sqldb.ErrConflict) {
			err = fmt.Errorf("client %s was changed by someone else meanwhile; nothing was written, run the command again", id)
		}
		return env.fail(exitFailed, notFound(err, id))
	}
	printClient(env.stdout, updated, secret, c.JSON)
	return exitOK
}

func runClientsDelete(ctx context.Context, env *environment, args []string) int {
	return oneClient(ctx, env, "delete", "Deletes a client: it can no longer sign citizens in or obtain tokens. "+propagation, args,
		func(c *clientsCommand, st *client.Store, id string) int {
			if err := st.Delete(ctx, id); err != nil {
				return env.fail(exitFailed, notFound(err, id))
			}
			if c.JSON {
				writeJSON(env.stdout, map[string]any{"client_id": id, "deleted": true})
				return exitOK
			}
			fmt.Fprintf(env.stdout, "Deleted client %s. %s\n", id, propagation)
			return exitOK
		})
}

func runClientsRotateSecret(ctx context.Context, env *environment, args []string) int {
	return oneClient(ctx, env, "rotate-secret", "Gives a client_secret_basic or client_secret_post client a new random secret and prints it, once. The old secret stops working here at once and on running servers within "+client.CacheCheckInterval.String()+"; the new one works everywhere at once.", args,
		func(c *clientsCommand, st *client.Store, id string) int {
			secret, err := st.RotateSecret(ctx, id)
			switch {
			case errors.Is(err, client.ErrNoSecret):
				return env.fail(exitConfig, fmt.Errorf("client %s authenticates without a secret (change --auth-method with `gosid clients update` first)", id))
			case err != nil:
				return env.fail(exitFailed, notFound(err, id))
			}
			if c.JSON {
				writeJSON(env.stdout, map[string]string{"client_id": id, "client_secret": secret})
				return exitOK
			}
			fmt.Fprintf(env.stdout, "client_id      %s\nclient_secret  %s\n\n%s\n", id, secret, secretOnce(id))
			return exitOK
		})
}

func secretOnce(id string) string {
	return fmt.Sprintf("The client secret is shown only this once: store it now. `gosid clients rotate-secret %s` replaces it.", id)
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// printClient prints a client and, when not empty, its secret, which the
// caller shows only this once.
func printClient(w io.Writer, c *client.Client, secret string, asJSON bool) {
	if asJSON {
		writeJSON(w, c.Metadata(secret))
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range c.Rows(secret) {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	tw.Flush()
	if secret != "" {
		fmt.Fprintf(w, "\n%s\n", secretOnce(c.ID))
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
