package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBanksCommands: add (from a YAML file), list, update (only what is
// given), remove, and the problems of each, on SQLite in the data dir.
func TestBanksCommands(t *testing.T) {
	dir := t.TempDir()
	c := cli{t, []string{"--data-dir", dir}}
	c.ok("migrate")
	secret := filepath.Join(dir, "sber.secret")
	config := filepath.Join(dir, "sber.yaml")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte(`id: sber
name-ru: СберБанк (Сбер ID)
name-en: Sberbank (Sber ID)
issuer: https://id.sber.example
client-id: gosid
client-secret-file: `+secret+`
claim: [family_name=family_name, given_name=given_name, birthdate=birthdate, snils=snils]
vouches: [family_name, given_name, birthdate, snils]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("banks", "add", "--config", config)
	if out := c.ok("banks", "list"); !strings.Contains(out, "sber  СберБанк (Сбер ID)  https://id.sber.example") || !strings.Contains(out, "family_name,given_name,birthdate,snils") {
		t.Fatalf("list after add:\n%s", out)
	}
	if r := c.run("banks", "add", "--config", config); r.code == 0 || !strings.Contains(r.stderr, "already taken") {
		t.Errorf("adding the id again: %d %s", r.code, r.stderr)
	}
	c.ok("banks", "update", "sber", "--disabled", "--name-ru", "Сбер")
	if out := c.ok("banks", "list"); !strings.Contains(out, "sber  Сбер  https://id.sber.example") || !strings.HasSuffix(strings.TrimSpace(out), "yes") {
		t.Fatalf("list after update (name and disabled changed, the rest kept):\n%s", out)
	}
	lines := problems(t, c.run("banks", "update", "sber", "--issuer", "ftp://id.sber.example"))
	if len(lines) != 1 || !strings.Contains(lines[0], "flag --issuer") {
		t.Errorf("a bad issuer: %v", lines)
	}
	lines = problems(t, c.run("banks", "add", "--id", "X", "--issuer", "http://bank.example"))
	if text := strings.Join(lines, "\n"); !strings.Contains(text, "flag --id") || !strings.Contains(text, "flag --issuer") || !strings.Contains(text, "--client-id") {
		t.Errorf("add with bad options: every problem named:\n%s", text)
	}
	problems(t, c.run("banks", "remove"))
	c.ok("banks", "remove", "sber")
	if out := c.ok("banks", "list"); strings.Contains(out, "sber") {
		t.Errorf("list after remove:\n%s", out)
	}
	if r := c.run("banks", "remove", "sber"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("removing it again: %d %s", r.code, r.stderr)
	}
}
