package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/bank"
)

// cli runs gosid in-process with the storage options in base appended to
// every command.
type cli struct {
	t    *testing.T
	base []string
}

type result struct {
	code           int
	stdout, stderr string
}

func (c cli) run(args ...string) result {
	c.t.Helper()
	var out, errOut bytes.Buffer
	all := append(append([]string{}, args...), c.base...)
	code := run(context.Background(), all, nil, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// ok runs a command that must succeed.
func (c cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != exitOK {
		c.t.Fatalf("gosid %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func (c cli) json(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("gosid %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// store opens the client store the commands use.
func (c cli) store(sqliteDir, url string) *client.Store {
	c.t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: url, SQLitePath: filepath.Join(sqliteDir, "gosid.db")})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { db.Close() })
	return client.NewStore(db, nil)
}

// TestClientsCommands: create → show → update → rotate-secret → delete, on
// SQLite in the data dir and on PostgreSQL.
func TestClientsCommands(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		c := cli{t, []string{"--data-dir", dir}}
		c.ok("migrate")
		clientsLifecycle(t, c, c.store(dir, ""))
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.PostgresURL(t)
		dir := t.TempDir()
		c := cli{t, []string{"--data-dir", dir, "--database-url", url}}
		clientsLifecycle(t, c, c.store(dir, url))
	})
}

func clientsLifecycle(t *testing.T, c cli, st *client.Store) {
	ctx := context.Background()
	var created client.Metadata
	c.json(&created, "clients", "create", "--id", "portal-test", "--name", "Госуслуги Портал",
		"--redirect-uri", "https://portal.example.ru/cb", "--redirect-uri", "http://localhost:8081/cb",
		"--scopes", "openid fullname, snils,offline_access", "--grant-types", "authorization_code, refresh_token",
		"--auth-method", "client_secret_basic", "--first-party", "--min-level", "standard")
	if created.ClientID != "portal-test" || len(created.ClientSecret) != 43 || created.Scope != "openid fullname snils offline_access" ||
		len(created.RedirectURIs) != 2 || !created.FirstParty || created.MinLevel != "standard" || created.IDTokenAlg != "RS256" ||
		created.AccessTokenFormat != "jwt" || created.AuthMethod != client.AuthSecretBasic || len(created.GrantTypes) != 2 {
		t.Fatalf("created: %+v", created)
	}
	if _, err := st.CheckSecret(ctx, "portal-test", created.ClientSecret); err != nil {
		t.Fatalf("printed secret does not authenticate: %v", err)
	}

	var shown client.Metadata
	c.json(&shown, "clients", "show", "portal-test")
	if shown.ClientSecret != "" || !shown.HasSecret || shown.Name != "Госуслуги Портал" || shown.Scope != created.Scope {
		t.Fatalf("show: %+v", shown)
	}
	text := c.ok("clients", "show", "portal-test")
	if !strings.Contains(text, "Госуслуги Портал") || strings.Contains(text, created.ClientSecret) {
		t.Fatalf("show text:\n%s", text)
	}

	// Only the options given change; a list given replaces the list.
	var updated client.Metadata
	c.json(&updated, "clients", "update", "portal-test", "--name", "Портал", "--redirect-uri", "https://portal.example.ru/cb2",
		"--first-party=false", "--access-token-format", "opaque")
	if updated.Name != "Портал" || len(updated.RedirectURIs) != 1 || updated.RedirectURIs[0] != "https://portal.example.ru/cb2" ||
		updated.FirstParty || updated.AccessTokenFormat != "opaque" || updated.Scope != created.Scope || updated.MinLevel != "standard" ||
		updated.ClientSecret != "" || !updated.HasSecret {
		t.Fatalf("updated: %+v", updated)
	}
	if _, err := st.CheckSecret(ctx, "portal-test", created.ClientSecret); err != nil {
		t.Fatalf("update changed the secret: %v", err)
	}

	var rotated map[string]string
	c.json(&rotated, "clients", "rotate-secret", "portal-test")
	if rotated["client_id"] != "portal-test" || len(rotated["client_secret"]) != 43 || rotated["client_secret"] == created.ClientSecret {
		t.Fatalf("rotate-secret: %v", rotated)
	}
	if _, err := st.CheckSecret(ctx, "portal-test", created.ClientSecret); err != client.ErrInvalidCredentials {
		t.Fatalf("old secret after rotate-secret: %v", err)
	}
	if _, err := st.CheckSecret(ctx, "portal-test", rotated["client_secret"]); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	text = c.ok("clients", "rotate-secret", "portal-test")
	if !strings.Contains(text, "shown only this once") {
		t.Fatalf("rotate-secret text:\n%s", text)
	}

	// A public client: no secret; switched to a secret method it gets one.
	var public client.Metadata
	c.json(&public, "clients", "create", "--name", "Мобильное приложение", "--auth-method", "none",
		"--redirect-uri", "ru.gosid.app:/oauth2redirect", "--scopes", "openid mobile")
	if public.ClientSecret != "" || public.HasSecret || !client.ValidID(public.ClientID) || !strings.HasPrefix(public.ClientID, "gsd_") {
		t.Fatalf("public client: %+v", public)
	}
	var switched client.Metadata
	c.json(&switched, "clients", "update", public.ClientID, "--auth-method", "client_secret_post")
	if len(switched.ClientSecret) != 43 || !switched.HasSecret {
		t.Fatalf("switched to client_secret_post: %+v", switched)
	}
	if _, err := st.CheckSecret(ctx, public.ClientID, switched.ClientSecret); err != nil {
		t.Fatal(err)
	}

	var list []client.Metadata
	c.json(&list, "clients", "list")
	if len(list) != 2 || list[0].ClientID != "portal-test" || list[1].ClientID != public.ClientID || list[0].ClientSecret != "" {
		t.Fatalf("list: %+v", list)
	}
	if text := c.ok("clients", "list"); !strings.Contains(text, "portal-test") || !strings.Contains(text, public.ClientID) {
		t.Fatalf("list text:\n%s", text)
	}

	var deleted map[string]any
	c.json(&deleted, "clients", "delete", "portal-test")
	if deleted["client_id"] != "portal-test" || deleted["deleted"] != true {
		t.Fatalf("delete: %v", deleted)
	}
	if _, err := st.Get(ctx, "portal-test"); !errors.Is(err, sqldb.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	for _, args := range [][]string{{"show", "portal-test"}, {"delete", "portal-test"}, {"rotate-secret", "portal-test"}, {"update", "portal-test", "--name", "X"}} {
		if r := c.run(append([]string{"clients"}, args...)...); r.code != exitFailed || !strings.Contains(r.stderr, `no client "portal-test"`) {
			t.Errorf("clients %s on a deleted client: exit %d, %s", args[0], r.code, r.stderr)
		}
	}
}

// problems returns the problem lines of a command that exited 2.
func problems(t *testing.T, r result) []string {
	t.Helper()
	if r.code != exitConfig {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, exitConfig, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "gosid: ") {
			t.Errorf("not a problem line: %q", l)
		}
	}
	return lines
}

func TestClientsProblems(t *testing.T) {
	dir := t.TempDir()
	c := cli{t, []string{"--data-dir", dir}}
	c.ok("migrate")
	st := c.store(dir, "")

	// A bad redirect URI names the flag; every problem is reported at once.
	lines := problems(t, c.run("clients", "create", "--name", "Банк", "--redirect-uri", "http://bank.example.ru/cb",
		"--min-level", "gold", "--scopes", "openid passport_scan"))
	if len(lines) != 3 || !strings.Contains(lines[0], "flag --redirect-uri") || !strings.Contains(lines[0], "loopback") ||
		!strings.Contains(lines[1], "flag --scopes") || !strings.Contains(lines[2], "flag --min-level") {
		t.Fatalf("problems:\n%s", strings.Join(lines, "\n"))
	}
	// A missing required setting names the flag to give.
	lines = problems(t, c.run("clients", "create", "--redirect-uri", "https://bank.example.ru/cb"))
	if len(lines) != 1 || !strings.Contains(lines[0], "--name") {
		t.Fatalf("problems: %v", lines)
	}
	if list, _ := st.List(context.Background()); len(list) != 0 {
		t.Fatalf("an invalid client was stored: %v", list)
	}

	// private_key_jwt: the keys come from a file; a private key is refused
	// without being echoed.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := key.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	jwk := map[string]string{"kty": "EC", "crv": "P-256", "kid": "bank-1", "x": b64(raw[1:33]), "y": b64(raw[33:])}
	pub, _ := json.MarshalIndent(map[string]any{"keys": []any{jwk}}, "", "  ")
	d, err := key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	jwk["d"] = b64(d)
	priv, _ := json.Marshal(map[string]any{"keys": []any{jwk}})
	pubFile, privFile := filepath.Join(dir, "jwks.json"), filepath.Join(dir, "private.json")
	if err := os.WriteFile(pubFile, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(privFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	lines = problems(t, c.run("clients", "create", "--name", "Банк", "--redirect-uri", "https://bank.example.ru/cb",
		"--auth-method", "private_key_jwt", "--jwks-file", privFile))
	if len(lines) != 1 || !strings.Contains(lines[0], "flag --jwks-file") || !strings.Contains(lines[0], "private member") || strings.Contains(lines[0], jwk["d"]) {
		t.Fatalf("private key: %v", lines)
	}
	problems(t, c.run("clients", "create", "--name", "Банк", "--redirect-uri", "https://bank.example.ru/cb",
		"--auth-method", "private_key_jwt", "--jwks-file", filepath.Join(dir, "missing.json")))
	var bank client.Metadata
	c.json(&bank, "clients", "create", "--id", "bank", "--name", "Банк", "--redirect-uri", "https://bank.example.ru/cb",
		"--auth-method", "private_key_jwt", "--jwks-file", pubFile, "--grant-types", "authorization_code,client_credentials")
	if bank.ClientSecret != "" || bank.HasSecret || len(bank.JWKS) == 0 {
		t.Fatalf("private_key_jwt client: %+v", bank)
	}

	// Update: a problem with a setting not given is about its current
	// value; nothing is written.
	lines = problems(t, c.run("clients", "update", "bank", "--auth-method", "none", "--redirect-uri", "https://bank.example.ru/#x"))
	want := []string{"flag --redirect-uri", "--grant-types (current value)"}
	if len(lines) != len(want) {
		t.Fatalf("update problems: %v", lines)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("problem %q does not name %s", lines[i], w)
		}
	}
	if got, _ := st.Get(context.Background(), "bank"); got.AuthMethod != client.AuthPrivateKeyJWT || got.RedirectURIs[0] != "https://bank.example.ru/cb" {
		t.Fatalf("an invalid update was written: %+v", got)
	}
	// Switching from inline keys to a URL replaces them.
	var byURL client.Metadata
	c.json(&byURL, "clients", "update", "bank", "--jwks-uri", "https://bank.example.ru/jwks.json")
	if len(byURL.JWKS) != 0 || byURL.JWKSURI != "https://bank.example.ru/jwks.json" {
		t.Fatalf("jwks-uri: %+v", byURL)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"clients", "update", "bank"}, "nothing to change"},
		{[]string{"clients", "show"}, "exactly one client id"},
		{[]string{"clients", "show", "a", "b"}, "exactly one client id"},
		{[]string{"clients", "rotate-secret", "bank"}, "without a secret"},
		{[]string{"clients", "create", "--nmae", "x"}, "unknown flag --nmae"},
		{[]string{"clients", "frobnicate"}, "unknown clients command"},
	} {
		if r := c.run(tc.args...); r.code != exitConfig || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("gosid %s: exit %d, %q; want exit 2 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}

	// A taken id is a runtime failure.
	if r := c.run("clients", "create", "--id", "bank", "--name", "Другой", "--redirect-uri", "https://x.example.ru/cb"); r.code != exitFailed || !strings.Contains(r.stderr, "already taken") {
		t.Fatalf("duplicate id: exit %d %s", r.code, r.stderr)
	}

	// Text mode shows the secret with the warning that it is shown once.
	out := c.ok("clients", "create", "--name", "Текст", "--redirect-uri", "https://t.example.ru/cb")
	if !strings.Contains(out, "client_secret") || !strings.Contains(out, "shown only this once") {
		t.Fatalf("create text:\n%s", out)
	}

	// No database in the data dir: a runtime failure that says what to do.
	empty := cli{t, []string{"--data-dir", t.TempDir()}}
	if r := empty.run("clients", "list"); r.code != exitFailed || !strings.Contains(r.stderr, "gosid migrate") {
		t.Fatalf("list without a database: exit %d %s", r.code, r.stderr)
	}
	if r := c.run("clients", "--help"); r.code != exitOK || !strings.Contains(r.stdout, "rotate-secret") {
		t.Fatalf("clients --help: exit %d %s", r.code, r.stdout)
	}
	if r := c.run("clients", "create", "--help"); r.code != exitOK || !strings.Contains(r.stdout, "--redirect-uri") {
		t.Fatalf("clients create --help: exit %d", r.code)
	}
}

// TestClientsPKCEAndIDTokenClaims: PKCE is required unless an operator
// makes it optional for a confidential client (never a public one), and
// personal claims in ID tokens are a registration choice; both are shown
// by show, list and --json.
func TestClientsPKCEAndIDTokenClaims(t *testing.T) {
	dir := t.TempDir()
	c := cli{t, []string{"--data-dir", dir}}
	c.ok("migrate")
	st := c.store(dir, "")
	ctx := context.Background()

	var created client.Metadata
	c.json(&created, "clients", "create", "--id", "bank", "--name", "Банк", "--redirect-uri", "https://bank.example.ru/cb")
	if created.PKCE != client.PKCERequired || created.IDTokenClaims {
		t.Fatalf("defaults: pkce %q, id_token_claims %v; want required, false", created.PKCE, created.IDTokenClaims)
	}
	var updated client.Metadata
	c.json(&updated, "clients", "update", "bank", "--pkce", "optional", "--id-token-claims")
	if updated.PKCE != client.PKCEOptional || !updated.IDTokenClaims {
		t.Fatalf("updated: pkce %q, id_token_claims %v", updated.PKCE, updated.IDTokenClaims)
	}
	if got, _ := st.Get(ctx, "bank"); got.PKCE != client.PKCEOptional || !got.IDTokenClaims || got.RequiresPKCE() {
		t.Fatalf("stored: %+v", got)
	}
	if text := c.ok("clients", "show", "bank"); !strings.Contains(text, "PKCE") || !strings.Contains(text, "optional") ||
		!strings.Contains(text, "personal data of the consented scopes too") {
		t.Fatalf("show text:\n%s", text)
	}
	if text := c.ok("clients", "list"); !strings.Contains(text, "PKCE") || !strings.Contains(text, "optional") {
		t.Fatalf("list text:\n%s", text)
	}
	c.json(&updated, "clients", "update", "bank", "--pkce", "required", "--id-token-claims=false")
	if updated.PKCE != client.PKCERequired || updated.IDTokenClaims {
		t.Fatalf("updated back: pkce %q, id_token_claims %v", updated.PKCE, updated.IDTokenClaims)
	}

	// A public client cannot go without PKCE, created or updated; plain is
	// no policy.
	lines := problems(t, c.run("clients", "create", "--name", "Приложение", "--auth-method", "none",
		"--redirect-uri", "ru.gosid.app:/cb", "--pkce", "optional"))
	if len(lines) != 1 || !strings.Contains(lines[0], "flag --pkce") || !strings.Contains(lines[0], "public client") {
		t.Fatalf("public client with --pkce optional: %v", lines)
	}
	var public client.Metadata
	c.json(&public, "clients", "create", "--name", "Приложение", "--auth-method", "none", "--redirect-uri", "ru.gosid.app:/cb")
	lines = problems(t, c.run("clients", "update", public.ClientID, "--pkce", "optional"))
	if len(lines) != 1 || !strings.Contains(lines[0], "--pkce") {
		t.Fatalf("public client updated to --pkce optional: %v", lines)
	}
	lines = problems(t, c.run("clients", "update", "bank", "--pkce", "plain"))
	if len(lines) != 1 || !strings.Contains(lines[0], "flag --pkce") || !strings.Contains(lines[0], `"plain"`) {
		t.Fatalf("--pkce plain: %v", lines)
	}
	// Switching an optional client to public is refused too: the policy
	// stays what it was, and is named as the current value.
	c.ok("clients", "update", "bank", "--pkce", "optional")
	lines = problems(t, c.run("clients", "update", "bank", "--auth-method", "none"))
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "--pkce (current value)") }) {
		t.Fatalf("bank switched to none with PKCE optional: %v", lines)
	}
}

// TestClientsPartner: --partner names an existing bank; the partner
// scopes need it.
func TestClientsPartner(t *testing.T) {
	dir := t.TempDir()
	c := cli{t, []string{"--data-dir", dir}}
	c.ok("migrate")
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{SQLitePath: filepath.Join(dir, "gosid.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := bank.NewStore(db, nil).Add(ctx, bank.Bank{ID: "sber", NameRU: "СберБанк", NameEN: "Sberbank", Issuer: "https://id.sber.example",
		ClientID: "gosid", ClientSecretFile: secret, Scopes: []string{"openid"}, Claims: map[string]string{bank.FamilyName: "family_name"}}); err != nil {
		t.Fatal(err)
	}
	jwks := filepath.Join(dir, "bank.jwks")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := key.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	pub, _ := json.Marshal(map[string]any{"keys": []any{map[string]string{"kty": "EC", "crv": "P-256", "kid": "k", "x": b64(raw[1:33]), "y": b64(raw[33:])}}})
	if err := os.WriteFile(jwks, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"clients", "create", "--name", "Сбер API", "--auth-method", "private_key_jwt", "--jwks-file", jwks,
		"--grant-types", "client_credentials", "--scopes", "partner:confirmations partner:registrations"}
	lines := problems(t, c.run(args...))
	if len(lines) != 2 || !strings.Contains(lines[0], "--partner") {
		t.Fatalf("partner scopes without --partner: %v", lines)
	}
	if r := c.run(append(args, "--partner", "nosuchbank")...); r.code == exitOK || !strings.Contains(r.stderr, `no bank "nosuchbank"`) {
		t.Fatalf("--partner of no bank: exit %d %s", r.code, r.stderr)
	}
	var created client.Metadata
	c.json(&created, append(args, "--partner", "sber")...)
	if created.Partner != "sber" {
		t.Fatalf("created %+v", created)
	}
	if text := c.ok("clients", "show", created.ClientID); !strings.Contains(text, "bank partner") || !strings.Contains(text, "sber") {
		t.Errorf("show:\n%s", text)
	}
}
