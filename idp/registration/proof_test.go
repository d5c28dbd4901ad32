package registration_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/esign"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/registration"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys/cert"
)

// TestRegisterWithCertificate: a SNILS merely claimed by an account is no
// key: the certificate holder's signature does not sign in to it but
// leads to registration, pre-filled from the certificate, and the new
// account gets the SNILS verified by the certificate and the confirmed
// level; the claim is dropped from the other account, whose owner is
// told. E-signature and registration run on one server, as in cmd/gosid.
func TestRegisterWithCertificate(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		// The clock starts at the real time: the fixtures' certificates
		// are valid now.
		e := idptest.NewEnv(t, db, idptest.Options{Start: time.Now()})
		es, err := esign.New(esign.Deps{Verify: idptest.CertVerify(t), Store: esign.NewStore(db, e.Crypto, e.Clock.Now),
			Accounts: e.Accounts, Sessions: idptest.Sessions{Store: e.Sessions}, Flows: e.Flows, Notifier: e.Messages, Limiter: e.Limiter, Log: e.Log, Now: e.Clock.Now, Activity: e.Activity,
			Verifier: assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return e.Accounts.With(q) }, e.Audit, e.Crypto, e.Clock.Now)})
		if err != nil {
			t.Fatal(err)
		}
		reg, err := registration.New(registration.Deps{Accounts: e.Accounts, Activity: e.Activity, Passwords: e.Hasher, Policy: password.DefaultPolicy(),
			Flows: e.Flows, Codes: e.Codes, Sessions: e.Sessions, Evidence: es, Log: e.Log, Now: e.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		srv := e.Serve(t, es.Routes, reg.Routes)
		r := &rig{Env: e, srv: srv}

		snils := idptest.SNILSOf(t, "citizen256")
		leaf, err := cert.ParseCertificates(idptest.Fixture(t, "citizen256.pem"))
		if err != nil {
			t.Fatal(err)
		}
		subject := cert.SubjectOf(leaf[0])
		claimant := e.Citizen(t, goodPassword)
		if err := e.Accounts.UpdateDocuments(ctx, claimant.ID, account.Documents{SNILS: snils}); err != nil {
			t.Fatal(err)
		}

		b := srv.Browser()
		if p := b.Post(t, "/login/esign", url.Values{"signature": {b.SignPage(t, "/login/esign", "citizen256")}}); p.Status != 404 || !p.Has(`href="/register?from=esign"`) {
			t.Fatalf("a claimed SNILS: %d, want 404 offering registration", p.Status)
		}
		if p := b.Get(t, "/register?from=esign"); !strings.HasPrefix(p.Notice(), "Данные из сертификата электронной подписи") || strings.Contains(p.Notice(), snils) {
			t.Fatalf("the start page's notice of the certificate's data (SNILS masked): %q", p.Notice())
		}
		phone := idptest.NextPhone()
		r.throughCode(t, b, "phone", phone)
		if p := b.Get(t, "/register/profile"); !p.Has(`value="` + subject.FamilyName + `"`) {
			t.Fatal("the profile step is not pre-filled from the certificate")
		}
		// The certificate's given name holds the patronymic after a space.
		given, middle, _ := strings.Cut(subject.GivenName, " ")
		form := profile()
		form.Set("family_name", subject.FamilyName)
		form.Set("given_name", given)
		form.Set("middle_name", middle)
		b.Post(t, "/register/profile", form).Expect(t, 303, "/account/details?welcome=1")

		a, err := e.Accounts.FindByLogin(ctx, account.Phone, phone)
		if err != nil {
			t.Fatal(err)
		}
		if a.SNILS != snils || !a.SNILSVerified() || a.Level != assurance.Confirmed {
			t.Fatalf("the new account: snils %q verified %v level %s", a.SNILS, a.SNILSVerified(), a.Level)
		}
		if got := e.Account(t, claimant.ID); got.SNILS != "" || got.Level != assurance.Simplified {
			t.Fatalf("the claimant kept snils %q, level %s", got.SNILS, got.Level)
		}
		if n := e.Messages.NoticeCount(claimant.ID, notice.KindNoticeSNILSClaimDropped); n != 1 {
			t.Fatalf("%d notices of the dropped claim", n)
		}
		// The SNILS now signs in to the new account.
		c := srv.Browser()
		if p := c.Post(t, "/login/esign", url.Values{"signature": {c.SignPage(t, "/login/esign", "citizen256")}}); p.Status != 303 {
			t.Fatalf("signing in with the certificate after registration: %d", p.Status)
		}
	})
}
