package bank_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/bank"
)

func sampleBank(id string) bank.Bank {
	return bank.Bank{ID: id, NameRU: "СберБанк (Сбер ID)", NameEN: "Sberbank (Sber ID)", Issuer: "https://id.sber.example",
		ClientID: "gosid", ClientSecretFile: "/etc/gosid/sber.secret", Scopes: []string{"openid", "name"},
		Claims:  map[string]string{bank.SNILS: "snils", bank.PassportSeries: "document.series"},
		Vouches: []string{bank.SNILS}, MayRegister: true}
}

func TestStore(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		s := r.banks

		t.Run("banks", func(t *testing.T) {
			b := sampleBank("sber")
			if err := s.Add(ctx, b); err != nil {
				t.Fatal(err)
			}
			if err := s.Add(ctx, b); !errors.Is(err, bank.ErrExists) {
				t.Fatalf("second Add: %v", err)
			}
			bad := sampleBank("Bad id")
			if err := s.Add(ctx, bad); err == nil {
				t.Fatal("an invalid bank was added")
			}
			got, err := s.Get(ctx, "sber")
			if err != nil {
				t.Fatal(err)
			}
			if got.NameRU != b.NameRU || got.Issuer != b.Issuer || got.Claims[bank.PassportSeries] != "document.series" ||
				!slices.Equal(got.Vouches, b.Vouches) || !got.MayRegister || got.Disabled || got.CreatedAt.IsZero() {
				t.Fatalf("Get = %+v", got)
			}
			r.clock.Advance(time.Minute)
			got.Disabled, got.NameEN = true, "Sber"
			if err := s.Update(ctx, *got); err != nil {
				t.Fatal(err)
			}
			again, _ := s.Get(ctx, "sber")
			if !again.Disabled || again.NameEN != "Sber" || !again.UpdatedAt.After(again.CreatedAt) {
				t.Fatalf("after Update %+v", again)
			}
			if err := s.Update(ctx, sampleBank("nope")); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("Update of a missing bank: %v", err)
			}
			if err := s.Add(ctx, sampleBank("alfa")); err != nil {
				t.Fatal(err)
			}
			list, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, b := range list {
				ids = append(ids, b.ID)
			}
			if !slices.Equal(ids, []string{"alfa", "fake", "sber"}) {
				t.Fatalf("List = %v", ids)
			}
			if err := s.Remove(ctx, "alfa"); err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(ctx, "alfa"); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("second Remove: %v", err)
			}
			if _, err := s.Get(ctx, "alfa"); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("Get after Remove: %v", err)
			}
		})

		t.Run("links", func(t *testing.T) {
			a, b := r.account(t), r.account(t)
			link := bank.Link{BankID: "fake", Subject: "sub-1", AccountID: a}
			for range 2 { // idempotent for the same account
				if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return s.Link(ctx, tx, link) }); err != nil {
					t.Fatal(err)
				}
			}
			// Linked elsewhere: refused, and the caller's transaction stays
			// usable (PostgreSQL aborts a transaction on a failed statement).
			err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				err := s.Link(ctx, tx, bank.Link{BankID: "fake", Subject: "sub-1", AccountID: b})
				if !errors.Is(err, bank.ErrLinkedElsewhere) {
					t.Errorf("link to another account: %v", err)
				}
				return s.Link(ctx, tx, bank.Link{BankID: "fake", Subject: "sub-2", AccountID: b})
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.AccountFor(ctx, "fake", "sub-1"); err != nil || got != a {
				t.Fatalf("AccountFor = %q, %v", got, err)
			}
			if _, err := s.AccountFor(ctx, "fake", "nobody"); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("AccountFor unknown: %v", err)
			}
			r.clock.Advance(time.Hour)
			if err := s.Used(ctx, "fake", "sub-1"); err != nil {
				t.Fatal(err)
			}
			links, err := s.Links(ctx, a)
			if err != nil || len(links) != 1 || links[0].Subject != "sub-1" || !links[0].LastUsedAt.After(links[0].LinkedAt) {
				t.Fatalf("Links = %+v, %v", links, err)
			}
			if err := s.Unlink(ctx, a, "fake"); err != nil {
				t.Fatal(err)
			}
			if err := s.Unlink(ctx, a, "fake"); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("second Unlink: %v", err)
			}
			// Deleting an account removes its links and flows.
			if _, err := r.conn.Begin(ctx, "fake", bank.Confirm, b, "", browser); err != nil {
				t.Fatal(err)
			}
			if err := r.accounts.Delete(ctx, b); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AccountFor(ctx, "fake", "sub-2"); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("link after the account's deletion: %v", err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM bank_flows WHERE account_id = $1`, b); n != 0 {
				t.Fatalf("%d flows of a deleted account", n)
			}
			// Removing a bank removes its links and flows.
			if err := s.Link(ctx, db, bank.Link{BankID: "fake", Subject: "sub-3", AccountID: a}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.conn.Begin(ctx, "fake", bank.SignIn, "", "", browser); err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(ctx, "fake"); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM bank_links WHERE bank_id = 'fake'`) +
				count(t, db, `SELECT COUNT(*) FROM bank_flows WHERE bank_id = 'fake'`); n != 0 {
				t.Fatalf("%d links and flows of a removed bank", n)
			}
		})
	})
}

func count(t *testing.T, db *sqldb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestValidate(t *testing.T) {
	good := sampleBank("sber")
	if p := good.Validate(); len(p) != 0 {
		t.Fatalf("valid bank: %v", p)
	}
	local := sampleBank("sandbox")
	local.Issuer = "http://localhost:8082"
	if p := local.Validate(); len(p) != 0 {
		t.Fatalf("loopback http issuer: %v", p)
	}
	for _, c := range []struct {
		field string
		bad   func(b *bank.Bank)
	}{
		{"id", func(b *bank.Bank) { b.ID = "-x" }},
		{"id", func(b *bank.Bank) { b.ID = "Sber" }},
		{"name-ru", func(b *bank.Bank) { b.NameRU = " " }},
		{"name-en", func(b *bank.Bank) { b.NameEN = "" }},
		{"issuer", func(b *bank.Bank) { b.Issuer = "http://id.sber.example" }},
		{"issuer", func(b *bank.Bank) { b.Issuer = "https://id.sber.example?x=1" }},
		{"issuer", func(b *bank.Bank) { b.Issuer = "id.sber.example" }},
		{"client-id", func(b *bank.Bank) { b.ClientID = "" }},
		{"client-secret-file", func(b *bank.Bank) { b.ClientSecretFile = "" }},
		{"client-secret-file", func(b *bank.Bank) { b.PrivateKeyFile = "/k.pem" }},
		{"key-id", func(b *bank.Bank) { b.KeyID = "k1" }},
		{"scopes", func(b *bank.Bank) { b.Scopes = []string{"profile"} }},
		{"claim", func(b *bank.Bank) { b.Claims["shoe_size"] = "shoe" }},
		{"claim", func(b *bank.Bank) { b.Claims[bank.INN] = "a..b" }},
		{"vouches", func(b *bank.Bank) { b.Vouches = append(b.Vouches, bank.INN) }},
	} {
		b := sampleBank("sber")
		c.bad(&b)
		p := b.Validate()
		if len(p) != 1 || !startsWith(p[0], c.field+": ") {
			t.Errorf("%s: problems %q", c.field, p)
		}
	}
}

func startsWith(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }
