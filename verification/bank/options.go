package bank

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gosid/gosid/internal/cmdline"
)

// Options are one bank's configuration as `gosid banks add|update` reads
// it: flags, GOSID_* variables or the YAML file of --config.
type Options struct {
	ID, NameRU, NameEN, Issuer, ClientID    string
	DiscoveryURL                            string
	ClientSecretFile, PrivateKeyFile, KeyID string
	Scopes, Claims, Vouches                 []string
	MayRegister, Sandbox, Disabled          bool

	set *cmdline.Set
}

// Register adds the options to s.
func (o *Options) Register(s *cmdline.Set) {
	o.set = s
	s.String(&o.ID, "id", "", "The bank's id: 2–32 lower-case letters, digits and hyphens (sber, tbank, vtb).")
	s.String(&o.NameRU, "name-ru", "", "The bank's name in Russian as pages show it («СберБанк (Сбер ID)»).")
	s.String(&o.NameEN, "name-en", "", "The bank's name in English (\"Sberbank (Sber ID)\").")
	s.String(&o.Issuer, "issuer", "", "The bank's OpenID issuer, an https URL; discovery is read from ISSUER/.well-known/openid-configuration.")
	s.String(&o.DiscoveryURL, "discovery-url", "", "Where the bank publishes its OpenID metadata, when not at ISSUER/.well-known/openid-configuration.")
	s.String(&o.ClientID, "client-id", "", "Gosid's client id at the bank.")
	s.String(&o.ClientSecretFile, "client-secret-file", "", "File holding Gosid's client secret at the bank (client_secret_basic). Exactly one of this and --private-key-file.")
	s.String(&o.PrivateKeyFile, "private-key-file", "", "PEM file of the RSA or EC private key Gosid signs client assertions with (private_key_jwt).")
	s.String(&o.KeyID, "key-id", "", "Key id (kid) of --private-key-file as registered at the bank; optional.")
	s.StringList(&o.Scopes, "scopes", []string{"openid"}, "Scopes asked of the bank; must contain openid.")
	s.StringList(&o.Claims, "claim", nil, "Claim mapping FIELD=CLAIM, FIELD one of "+strings.Join(fields, ", ")+
		"; CLAIM the bank's claim name, a dotted path reaching into an object (document.series).")
	s.StringList(&o.Vouches, "vouches", nil, "Fields whose values the bank vouches for (verified data); each must be mapped by --claim.")
	s.Bool(&o.MayRegister, "may-register", false, "Citizens may register a new account through this bank.")
	s.Bool(&o.Sandbox, "sandbox", false, "The development sandbox bank: pages label it as such.")
	s.Bool(&o.Disabled, "disabled", false, "The bank is configured but not offered.")
}

// source names where an option came from ("flag --issuer", a file line),
// or the bare option name before Register.
func (o *Options) source(name string) string {
	if o.set == nil {
		return name
	}
	return o.set.Source(name)
}

// Bank returns the bank the options describe and every problem, each
// naming its option.
func (o *Options) Bank() (Bank, []string) {
	b := Bank{ID: o.ID, NameRU: o.NameRU, NameEN: o.NameEN, Issuer: o.Issuer, DiscoveryURL: o.DiscoveryURL, ClientID: o.ClientID,
		ClientSecretFile: o.ClientSecretFile, PrivateKeyFile: o.PrivateKeyFile, KeyID: o.KeyID,
		Scopes: o.Scopes, Vouches: o.Vouches, MayRegister: o.MayRegister, Sandbox: o.Sandbox, Disabled: o.Disabled}
	var probs []string
	if len(o.Claims) > 0 {
		b.Claims = map[string]string{}
	}
	for _, c := range o.Claims {
		field, claim, ok := strings.Cut(c, "=")
		field, claim = strings.TrimSpace(field), strings.TrimSpace(claim)
		switch {
		case !ok || field == "" || claim == "":
			probs = append(probs, fmt.Sprintf("%s: %q is not FIELD=CLAIM", o.source("claim"), c))
		case b.Claims[field] != "":
			probs = append(probs, fmt.Sprintf("%s: %s mapped twice", o.source("claim"), field))
		default:
			b.Claims[field] = claim
		}
	}
	// The files are read by the serving replicas, whatever their working
	// directory: kept as absolute paths, and readable now.
	for _, f := range []struct {
		name string
		path *string
	}{{"client-secret-file", &b.ClientSecretFile}, {"private-key-file", &b.PrivateKeyFile}} {
		if *f.path == "" {
			continue
		}
		abs, err := filepath.Abs(*f.path)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", o.source(f.name), err))
			continue
		}
		*f.path = abs
	}
	for _, p := range b.Validate() {
		name, msg, _ := strings.Cut(p, ": ")
		probs = append(probs, o.source(name)+": "+msg)
	}
	return b, probs
}

// Over returns old with the options that were given in its place (an
// update: only what is given changes; a list given replaces the list),
// and every problem of the result, each naming its option.
func (o *Options) Over(old Bank) (Bank, []string) {
	given := func(name string) bool { return o.set != nil && o.set.IsSet(name) }
	keep := func(name string, dst *string, v string) {
		if !given(name) {
			*dst = v
		}
	}
	keep("name-ru", &o.NameRU, old.NameRU)
	keep("name-en", &o.NameEN, old.NameEN)
	keep("issuer", &o.Issuer, old.Issuer)
	keep("discovery-url", &o.DiscoveryURL, old.DiscoveryURL)
	keep("client-id", &o.ClientID, old.ClientID)
	keep("key-id", &o.KeyID, old.KeyID)
	if !given("client-secret-file") && !given("private-key-file") {
		o.ClientSecretFile, o.PrivateKeyFile = old.ClientSecretFile, old.PrivateKeyFile
	}
	if !given("scopes") {
		o.Scopes = old.Scopes
	}
	if !given("vouches") {
		o.Vouches = old.Vouches
	}
	if !given("claim") {
		o.Claims = nil
		for _, f := range fields {
			if c := old.Claims[f]; c != "" {
				o.Claims = append(o.Claims, f+"="+c)
			}
		}
	}
	for name, dst := range map[string]*bool{"may-register": &o.MayRegister, "sandbox": &o.Sandbox, "disabled": &o.Disabled} {
		if !given(name) {
			*dst = map[string]bool{"may-register": old.MayRegister, "sandbox": old.Sandbox, "disabled": old.Disabled}[name]
		}
	}
	o.ID = old.ID
	return o.Bank()
}

// WriteList writes banks as an aligned table.
func WriteList(w io.Writer, banks []Bank) {
	rows := make([][]string, 0, len(banks))
	for _, b := range banks {
		auth := "client_secret_basic"
		if b.PrivateKeyFile != "" {
			auth = "private_key_jwt"
		}
		vouches := strings.Join(b.Vouches, ",")
		if vouches == "" {
			vouches = "-"
		}
		rows = append(rows, []string{b.ID, b.NameRU, b.Issuer, b.ClientID, auth, vouches,
			cmdline.YesNo(b.MayRegister), cmdline.YesNo(b.Sandbox), cmdline.YesNo(b.Disabled)})
	}
	cmdline.WriteTable(w, []string{"ID", "NAME", "ISSUER", "CLIENT", "AUTH", "VOUCHES", "REGISTER", "SANDBOX", "DISABLED"}, rows)
}
