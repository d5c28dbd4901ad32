package assurance_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

type rig struct {
	svc      *assurance.Service
	accounts *account.Store
	log      *audit.Log
	db       *sqldb.DB
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.Open(context.Background(), db, mk, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	accounts := account.NewStore(db, km, time.Now)
	log := audit.New(db, km, time.Now)
	svc := assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return accounts.With(q) }, log, km, time.Now)
	return &rig{svc: svc, accounts: accounts, log: log, db: db}
}

func (r *rig) account(t *testing.T, phone, snils string) *account.Account {
	t.Helper()
	a, err := r.accounts.Create(context.Background(), account.New{Name: account.Name{Family: "Иванов", Given: "Иван"}, SNILS: snils,
		Phone: account.Contact{Value: phone, VerifiedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func certificate(accountID string, level assurance.Level) assurance.Verification {
	return assurance.Verification{SNILS: "112-233-445 95", IP: "192.0.2.1", Evidence: assurance.Evidence{AccountID: accountID,
		Method: assurance.MethodQualifiedESignature, Verifier: assurance.Verifier{Kind: "ca", ID: "УЦ Тест"},
		Claims: []string{"snils", "family_name", "given_name"}, Level: level,
		Document: assurance.Document{Type: "qualified_certificate", Number: "0A1B2C", Issuer: "УЦ Тест",
			IssuedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ValidUntil: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}}
}

func actions(t *testing.T, log *audit.Log, accountID string) []string {
	t.Helper()
	entries, err := log.List(context.Background(), accountID, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

// TestVerify: one verification records its evidence (document sealed and
// read back), verifies the SNILS, drops another account's claim, raises the
// level and writes every activity-log entry, together.
func TestVerify(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		holder := r.account(t, "+79000000401", "")
		squatter := r.account(t, "+79000000402", "112-233-445 95")

		out, err := r.svc.Verify(ctx, certificate(holder.ID, assurance.Confirmed))
		if err != nil {
			t.Fatal(err)
		}
		if !out.Raised || out.Level != assurance.Confirmed || len(out.Dropped) != 1 || out.Dropped[0] != squatter.ID {
			t.Fatalf("outcome %+v", out)
		}
		a, _ := r.accounts.Get(ctx, holder.ID)
		if a.Level != assurance.Confirmed || !a.SNILSVerified() || a.SNILS != "112-233-445 95" {
			t.Fatalf("holder: level %s, snils %q verified %v", a.Level, a.SNILS, a.SNILSVerified())
		}
		ev, err := r.svc.Evidence(ctx, holder.ID)
		if err != nil || len(ev) != 1 {
			t.Fatalf("evidence: %v %v", ev, err)
		}
		if e := ev[0]; e.ID != out.EvidenceID || e.Method != assurance.MethodQualifiedESignature || e.Level != assurance.Confirmed ||
			e.Document.Number != "0A1B2C" || e.Document.Issuer != "УЦ Тест" || !e.Document.ValidUntil.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) ||
			strings.Join(e.Claims, " ") != "snils family_name given_name" {
			t.Fatalf("evidence read back: %+v", e)
		}
		// The document number is sealed at rest.
		var raw []byte
		if err := db.QueryRow(ctx, `SELECT document_enc FROM evidence WHERE id = $1`, out.EvidenceID).Scan(&raw); err != nil || strings.Contains(string(raw), "0A1B2C") {
			t.Fatalf("document at rest: %q %v", raw, err)
		}
		if got := strings.Join(actions(t, r.log, holder.ID), " "); got != "level.changed snils.verified" {
			t.Fatalf("holder's activity: %s", got)
		}
		if got := strings.Join(actions(t, r.log, squatter.ID), " "); got != "snils.claim_dropped" {
			t.Fatalf("squatter's activity: %s", got)
		}

		// Evidence for a level already reached (or lower) changes no level.
		out, err = r.svc.Verify(ctx, certificate(holder.ID, assurance.Standard))
		if err != nil || out.Raised || out.Level != assurance.Confirmed {
			t.Fatalf("lower evidence: %+v %v", out, err)
		}
		if ev, _ := r.svc.Evidence(ctx, holder.ID); len(ev) != 2 {
			t.Fatalf("%d evidence records, want 2", len(ev))
		}
	})
}

// TestVerifyIsAtomic: a verification that cannot complete (its SNILS is
// another account's verified one) writes nothing: no evidence, no level,
// no activity.
func TestVerifyIsAtomic(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		first := r.account(t, "+79000000411", "")
		second := r.account(t, "+79000000412", "")
		if _, err := r.svc.Verify(ctx, certificate(first.ID, "")); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Verify(ctx, certificate(second.ID, assurance.Confirmed)); !errors.Is(err, account.ErrTaken) {
			t.Fatalf("a second holder of one verified SNILS: %v, want ErrTaken", err)
		}
		a, _ := r.accounts.Get(ctx, second.ID)
		ev, _ := r.svc.Evidence(ctx, second.ID)
		if a.Level != assurance.Simplified || len(ev) != 0 || len(actions(t, r.log, second.ID)) != 0 {
			t.Fatalf("after a refused verification: level %s, %d evidence, activity %v", a.Level, len(ev), actions(t, r.log, second.ID))
		}
		// Refused outright: no method, no claims, unknown level.
		for _, v := range []assurance.Verification{
			{Evidence: assurance.Evidence{AccountID: second.ID, Verifier: assurance.Verifier{Kind: "ca"}, Claims: []string{"snils"}}},
			{Evidence: assurance.Evidence{AccountID: second.ID, Method: assurance.MethodBank, Verifier: assurance.Verifier{Kind: "bank"}}},
			{Evidence: assurance.Evidence{AccountID: second.ID, Method: assurance.MethodBank, Verifier: assurance.Verifier{Kind: "bank"}, Claims: []string{"snils"}, Level: "gold"}},
		} {
			if _, err := r.svc.Verify(ctx, v); !errors.Is(err, assurance.ErrInvalid) {
				t.Errorf("invalid verification %+v: %v", v.Evidence, err)
			}
		}
	})
}

// TestRacingVerifications: verifications racing on one account raise its
// level once, with one activity-log entry for it.
func TestRacingVerifications(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		a := r.account(t, "+79000000421", "")
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() {
				v := assurance.Verification{Evidence: assurance.Evidence{AccountID: a.ID, Method: assurance.MethodBank,
					Verifier: assurance.Verifier{Kind: "bank", ID: "test"}, Claims: []string{"family_name"}, Level: assurance.Confirmed}}
				_, errs[i] = r.svc.Verify(ctx, v)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("verification %d: %v", i, err)
			}
		}
		n := 0
		for _, act := range actions(t, r.log, a.ID) {
			if act == audit.ActionLevelChanged {
				n++
			}
		}
		if got, _ := r.accounts.Get(ctx, a.ID); got.Level != assurance.Confirmed || n != 1 {
			t.Fatalf("level %s with %d level.changed entries, want confirmed and 1", got.Level, n)
		}
	})
}

// TestOnlyVerifyChangesLevels keeps Service.Verify the only code that
// changes a level: no other package calls the account store's SetLevel.
func TestOnlyVerifyChangesLevels(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if strings.HasPrefix(rel, filepath.Join("idp", "assurance")+string(filepath.Separator)) ||
			rel == filepath.Join("idp", "account", "centre.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), ".SetLevel(") {
			t.Errorf("%s changes a level outside idp/assurance", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLevels(t *testing.T) {
	if !assurance.Confirmed.AtLeast(assurance.Standard) || assurance.Simplified.AtLeast(assurance.Standard) || !assurance.Standard.AtLeast(assurance.Standard) {
		t.Error("AtLeast")
	}
	for _, l := range assurance.Levels() {
		if got, ok := assurance.ParseACR(l.ACR()); !ok || got != l {
			t.Errorf("ParseACR(%s) = %s %v", l.ACR(), got, ok)
		}
		if got, err := assurance.Parse(string(l)); err != nil || got != l {
			t.Errorf("Parse(%s) = %s %v", l, got, err)
		}
	}
	for _, bad := range []string{"urn:gosid:ac:mfa", "urn:gosid:loa:gold", "standard", ""} {
		if _, ok := assurance.ParseACR(bad); ok {
			t.Errorf("ParseACR(%q) accepted", bad)
		}
	}
	if _, err := assurance.Parse("gold"); err == nil {
		t.Error("Parse(gold) accepted")
	}
}

// TestVerifyRecordsSeveral: one verification of several records (a
// registry check: СФР and МВД) keeps each with its sealed values, runs the
// caller's Apply in the same transaction, and an Apply that fails leaves
// nothing behind.
func TestVerifyRecordsSeveral(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r, ctx := newRig(t, db), context.Background()
		a := r.account(t, "+79160000001", "")
		registry := func(src, doc string, values map[string]string) assurance.Evidence {
			claims := make([]string, 0, len(values))
			for k := range values {
				claims = append(claims, k)
			}
			return assurance.Evidence{AccountID: a.ID, Method: assurance.MethodRegistry, Verifier: assurance.Verifier{Kind: "registry", ID: src},
				Claims: claims, Values: values, Document: assurance.Document{Type: doc, Number: "4510 123456"}, Level: assurance.Standard}
		}
		failed := errors.New("apply failed")
		v := assurance.Verification{Evidence: registry("ru_sfr", "snils", map[string]string{"snils": "112-233-445 95", "birthdate": "1990-01-31"}),
			More:  []assurance.Evidence{registry("ru_mvd", "passport", map[string]string{"family_name": "Иванов"})},
			Apply: func(ctx context.Context, tx *sqldb.Tx) error { return failed }}
		if _, err := r.svc.Verify(ctx, v); !errors.Is(err, failed) {
			t.Fatalf("Verify with a failing Apply = %v", err)
		}
		if ev, _ := r.svc.Evidence(ctx, a.ID); len(ev) != 0 {
			t.Fatalf("a failed Apply left %d evidence records", len(ev))
		}
		applied := 0
		v.Apply = func(ctx context.Context, tx *sqldb.Tx) error { applied++; return nil }
		out, err := r.svc.Verify(ctx, v)
		if err != nil || applied != 1 || len(out.EvidenceIDs) != 2 || !out.Raised || out.Level != assurance.Standard {
			t.Fatalf("Verify = %+v, %v (applied %d)", out, err, applied)
		}
		ev, err := r.svc.Evidence(ctx, a.ID)
		if err != nil || len(ev) != 2 {
			t.Fatalf("Evidence = %d, %v", len(ev), err)
		}
		got := map[string]map[string]string{}
		for _, e := range ev {
			got[e.Verifier.ID] = e.Values
		}
		if got["ru_sfr"]["snils"] != "112-233-445 95" || got["ru_sfr"]["birthdate"] != "1990-01-31" || got["ru_mvd"]["family_name"] != "Иванов" {
			t.Errorf("values read back = %v", got)
		}
		var raw []byte
		if err := db.QueryRow(ctx, `SELECT document_enc FROM evidence WHERE account_id = $1 LIMIT 1`, a.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "112-233") || strings.Contains(string(raw), "1990-01-31") {
			t.Error("evidence values stored in the clear")
		}
		// A registry that now reports the passport invalid lowers the
		// level once, with an entry in the activity log.
		lowered, err := r.svc.Lower(ctx, assurance.Lowering{AccountID: a.ID, To: assurance.Simplified, Reason: "passport_invalid"})
		if err != nil || !lowered {
			t.Fatalf("Lower = %v, %v", lowered, err)
		}
		if again, err := r.svc.Lower(ctx, assurance.Lowering{AccountID: a.ID, To: assurance.Simplified, Reason: "passport_invalid"}); err != nil || again {
			t.Fatalf("second Lower = %v, %v", again, err)
		}
		if st, _ := r.accounts.State(ctx, a.ID); st.Level != assurance.Simplified {
			t.Errorf("level after Lower = %s", st.Level)
		}
		if acts := actions(t, r.log, a.ID); len(acts) != 2 || acts[0] != audit.ActionLevelChanged || acts[1] != audit.ActionLevelChanged {
			t.Errorf("activity = %v", acts)
		}
	})
}
