package bank_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/verification/bank"
)

// TestOptionsFromYAML: `gosid banks add --config sber.yaml` reads a bank
// from the YAML file, flags override it, and problems name the option and
// where it came from.
func TestOptionsFromYAML(t *testing.T) {
	dir := t.TempDir()
	path, secret := filepath.Join(dir, "sber.yaml"), filepath.Join(dir, "sber.secret")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := `id: sber
name-ru: СберБанк (Сбер ID)
name-en: Sberbank (Sber ID)
issuer: https://id.sber.example
client-id: gosid
client-secret-file: ` + secret + `
scopes: [openid, name, snils]
claim:
  - family_name=surname
  - given_name = name
  - snils=snils
  - passport_series=document.series
vouches: [family_name, given_name, snils]
may-register: true
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var o bank.Options
	s := cmdline.NewSet("gosid banks add", "Adds a bank.")
	o.Register(s)
	if err := s.Parse([]string{"--config", path, "--disabled"}, nil); err != nil {
		t.Fatal(err)
	}
	b, probs := o.Bank()
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if b.ID != "sber" || b.NameRU != "СберБанк (Сбер ID)" || b.Claims[bank.GivenName] != "name" ||
		b.Claims[bank.PassportSeries] != "document.series" || !slices.Equal(b.Scopes, []string{"openid", "name", "snils"}) ||
		!slices.Equal(b.Vouches, []string{"family_name", "given_name", "snils"}) || !b.MayRegister || !b.Disabled || b.Sandbox {
		t.Fatalf("bank %+v", b)
	}

	if b.ClientSecretFile != secret {
		t.Errorf("client secret file %q, want %q", b.ClientSecretFile, secret)
	}
	t.Chdir(dir)
	if err := s.Parse([]string{"--config", path, "--client-secret-file", "sber.secret"}, nil); err != nil {
		t.Fatal(err)
	}
	if b, probs = o.Bank(); len(probs) > 0 || b.ClientSecretFile != secret {
		t.Errorf("a relative secret file: %q %v, want the absolute %q", b.ClientSecretFile, probs, secret)
	}
	if err := s.Parse([]string{"--config", path, "--client-secret-file", "missing.secret"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, probs = o.Bank(); len(probs) != 1 || !strings.Contains(probs[0], "flag --client-secret-file: ") {
		t.Errorf("a missing secret file: %v, want one problem naming the flag", probs)
	}

	if err := s.Parse([]string{"--config", path, "--issuer", "http://id.sber.example", "--claim", "family_name", "--vouches", "inn"}, nil); err != nil {
		t.Fatal(err)
	}
	_, probs = o.Bank()
	text := strings.Join(probs, "\n")
	for _, want := range []string{`flag --claim: "family_name" is not FIELD=CLAIM`, "flag --issuer: ", `flag --vouches: "inn" is not mapped`} {
		if !strings.Contains(text, want) {
			t.Errorf("problems lack %q:\n%s", want, text)
		}
	}

	var out bytes.Buffer
	b.PrivateKeyFile, b.ClientSecretFile = "/k.pem", ""
	bank.WriteList(&out, []bank.Bank{b, sampleBank("vtb")})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "private_key_jwt") ||
		!strings.Contains(lines[2], "client_secret_basic") || strings.Index(lines[1], "https://") != strings.Index(lines[2], "https://") {
		t.Fatalf("WriteList:\n%s", out.String())
	}
}
