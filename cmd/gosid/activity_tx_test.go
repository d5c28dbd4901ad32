package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/passkey"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// Every change of an account or its ways of signing in is in the
// account's activity log («Действия»): the change and its entry commit in
// one transaction. These tests make the log fail at the database (a
// trigger aborts every insert into audit_log) while a citizen makes a
// change through the served pages: the answer is a failure and the change
// is not made. With the log back, the same request makes the change, with
// its entry.

// auditDown runs fn while no activity-log entry can be written.
func auditDown(t *testing.T, db *sqldb.DB, fn func()) {
	t.Helper()
	sqldbtest.NoInserts(t, db, "audit_log", fn)
}

// auditDownFor runs fn while no activity-log entry of action can be
// written (the others can: a step before the change writes its own).
func auditDownFor(t *testing.T, db *sqldb.DB, action string, fn func()) {
	t.Helper()
	sqldbtest.NoInsertsWhere(t, db, "audit_log", "NEW.action = '"+action+"'", fn)
}

// logged counts the account's activity-log entries of action.
func logged(t *testing.T, parts *idp.IdP, accountID, action string) int {
	t.Helper()
	es, err := parts.Activity.List(context.Background(), accountID, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == action {
			n++
		}
	}
	return n
}

// rows counts what query finds.
func rows(t *testing.T, db *sqldb.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// accountOf is the id of the account with the verified phone.
func accountOf(t *testing.T, parts *idp.IdP, phone string) string {
	t.Helper()
	a, err := parts.Accounts.FindByLogin(context.Background(), account.Phone, phone)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// activityCitizen starts a server on db and registers a citizen with
// phone there: their browser, the server, its parts and clock, and the
// account's id.
func activityCitizen(t *testing.T, db *sqldb.DB, phone, family, given string) (*browser, *testIdP, *idp.IdP, *sqldbtest.Clock, string) {
	t.Helper()
	c := sqldbtest.NewClock(time.Now())
	srv, _, parts := startOPParts(t, db, c)
	b := newBrowser(t, srv)
	b.register("phone", phone, phone, family, given)
	return b, srv, parts, c, accountOf(t, parts, phone)
}

// failed checks that p is a failure (5xx).
func failed(t *testing.T, what string, p page) {
	t.Helper()
	if p.Status/100 != 5 {
		t.Fatalf("%s while the activity log fails: %d → %q, want a failure", what, p.Status, p.Location)
	}
}

// TestActivityTxSessionEnded: ending another session from the sessions
// page.
func TestActivityTxSessionEnded(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		srv, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
		const phone = "+79121110901"
		a := newBrowser(t, srv)
		a.register("phone", phone, phone, "Журналов", "Иван")
		b := newBrowser(t, srv)
		b.post("/login", url.Values{"login": {phone}, "password": {goodPassword}}).expectRedirect(t, "/account")
		id := accountOf(t, parts, phone)
		m := regexp.MustCompile(`name="id" value="([^"]+)"><button type="submit" class="link">`).FindStringSubmatch(a.get("/account/sessions").Body)
		if m == nil {
			t.Fatal("no end button for the other session")
		}
		var p page
		auditDown(t, db, func() { p = a.post("/account/sessions/end", url.Values{"id": {m[1]}}) })
		failed(t, "ending a session", p)
		if p := b.get("/account"); p.Status != 200 {
			t.Fatalf("the session ended without its entry: %d", p.Status)
		}
		if n := logged(t, parts, id, audit.ActionSessionEnded); n != 0 {
			t.Fatalf("%d entries of a session not ended", n)
		}
		a.post("/account/sessions/end", url.Values{"id": {m[1]}}).expectRedirect(t, "/account/sessions?done=1")
		b.get("/account").expectRedirect(t, "/login")
		if n := logged(t, parts, id, audit.ActionSessionEnded); n != 1 {
			t.Fatalf("%d entries of the ended session, want 1", n)
		}
	})
}

// TestActivityTxGrantRevoked: withdrawing a site's access.
func TestActivityTxGrantRevoked(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		srv, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
		cl, _, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Магазин «Пример»", AuthMethod: "client_secret_basic",
			RedirectURIs: []string{"http://127.0.0.1:9/cb"}, Scopes: []string{"openid", "fullname"}, GrantTypes: []string{"authorization_code"}})
		if err != nil {
			t.Fatal(err)
		}
		const phone = "+79121110902"
		b := newBrowser(t, srv)
		b.register("phone", phone, phone, "Грантов", "Пётр")
		id := accountOf(t, parts, phone)
		_, challenge := pkce()
		authorize(t, b, url.Values{"client_id": {cl.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"},
			"scope": {"openid fullname"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		grants := func() int { return rows(t, db, `SELECT COUNT(*) FROM oidc_grants WHERE account_id = $1`, id) }
		if n := grants(); n != 1 {
			t.Fatalf("%d grants after consent", n)
		}
		revoke := url.Values{"client_id": {cl.ID}, "confirm": {"yes"}}
		var p page
		auditDown(t, db, func() { p = b.post("/account/apps/revoke", revoke) })
		failed(t, "revoking a grant", p)
		if n := grants(); n != 1 {
			t.Fatal("the grant was revoked without its entry")
		}
		if n := logged(t, parts, id, audit.ActionGrantRevoked); n != 0 {
			t.Fatalf("%d entries of a grant not revoked", n)
		}
		b.post("/account/apps/revoke", revoke).expectRedirect(t, "/account/apps?done=1")
		if n := grants(); n != 0 {
			t.Fatalf("%d grants after revocation", n)
		}
		if n := logged(t, parts, id, audit.ActionGrantRevoked); n != 1 {
			t.Fatalf("%d entries of the revoked grant, want 1", n)
		}
	})
}

// withAuthenticator turns the signed-in citizen's authenticator on and
// returns a code of it for each call, of a step not used yet (the clock
// moves on 30 s).
func withAuthenticator(t *testing.T, b *browser, c *sqldbtest.Clock) func() string {
	t.Helper()
	code := beginAuthenticator(t, b, c)
	if p := b.postStep("/account/security/totp/confirm", url.Values{"code": {code()}}); len(backupRe.FindAllString(p.Body, -1)) != 10 {
		t.Fatalf("enabling the authenticator: %d", p.Status)
	}
	return code
}

// beginAuthenticator starts the signed-in citizen's authenticator set-up
// and returns a code of its secret for each call, of a step not used yet
// (the clock moves on 30 s).
func beginAuthenticator(t *testing.T, b *browser, c *sqldbtest.Clock) func() string {
	t.Helper()
	m := secretRe.FindStringSubmatch(b.postStep("/account/security/totp", nil).Body)
	if m == nil {
		t.Fatal("no authenticator secret")
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	return func() string {
		c.Advance(30 * time.Second)
		s, _ := totp.GenerateCode(secret, c.Now())
		return s
	}
}

// TestActivityTxBackupCodesRenewed: new backup codes, with a fresh
// authenticator code.
func TestActivityTxBackupCodesRenewed(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		const phone = "+79121110903"
		b, _, parts, c, id := activityCitizen(t, db, phone, "Резервов", "Иван")
		code := withAuthenticator(t, b, c)
		hashes := func() string {
			hex := `hex(code_hash)`
			if db.Dialect() == sqldb.Postgres {
				hex = `encode(code_hash, 'hex')`
			}
			hs, err := sqldb.Strings(context.Background(), db, `SELECT `+hex+` FROM backup_codes WHERE account_id = $1 ORDER BY code_hash`, id)
			if err != nil || len(hs) != 10 {
				t.Fatalf("%d backup codes (%v)", len(hs), err)
			}
			return strings.Join(hs, ",")
		}
		before := hashes()
		var p page
		auditDown(t, db, func() { p = b.post("/account/security/backup", url.Values{"code": {code()}}) })
		failed(t, "renewing backup codes", p)
		if hashes() != before {
			t.Fatal("backup codes renewed without their entry")
		}
		if n := logged(t, parts, id, audit.ActionBackupCodesRenewed); n != 0 {
			t.Fatalf("%d entries of codes not renewed", n)
		}
		if p := b.postStep("/account/security/backup", url.Values{"code": {code()}}); p.Status != 200 || len(backupRe.FindAllString(p.Body, -1)) != 10 {
			t.Fatalf("renewing backup codes: %d %s", p.Status, firstError(p.Body))
		}
		if hashes() == before {
			t.Fatal("the backup codes were not renewed")
		}
		if n := logged(t, parts, id, audit.ActionBackupCodesRenewed); n != 1 {
			t.Fatalf("%d entries of the renewed codes, want 1", n)
		}
	})
}

// TestActivityTxMFADisabled: turning the second factor off takes the
// authenticator's secret and the backup codes with it and writes its
// entry, all in one transaction: with the entry refused, or the codes
// not removable, the factor, the secret and the codes all stay, unlogged.
func TestActivityTxMFADisabled(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		const phone = "+79121110913"
		b, _, parts, c, id := activityCitizen(t, db, phone, "Отключаев", "Иван")
		code := withAuthenticator(t, b, c)
		state := func() string {
			var mfa string
			if err := db.QueryRow(context.Background(), `SELECT mfa FROM accounts WHERE id = $1`, id).Scan(&mfa); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(mfa, " ", rows(t, db, `SELECT COUNT(*) FROM totp_secrets WHERE account_id = $1`, id), " ",
				rows(t, db, `SELECT COUNT(*) FROM backup_codes WHERE account_id = $1`, id))
		}
		if s := state(); s != "totp 1 10" {
			t.Fatalf("with the authenticator on (factor, secrets, codes): %s", s)
		}
		for fault, down := range map[string]func(fn func()){
			"the entry refused":       func(fn func()) { auditDown(t, db, fn) },
			"the codes not removable": func(fn func()) { sqldbtest.NoDeletes(t, db, "backup_codes", fn) },
		} {
			var p page
			down(func() { p = b.post("/account/security/disable", url.Values{"code": {code()}}) })
			failed(t, "turning the second factor off with "+fault, p)
			if s := state(); s != "totp 1 10" {
				t.Fatalf("with %s (factor, secrets, codes): %s, want all kept", fault, s)
			}
			if n := logged(t, parts, id, audit.ActionMFADisabled); n != 0 {
				t.Fatalf("with %s: %d entries of a factor not turned off", fault, n)
			}
		}
		if p := b.post("/account/security/disable", url.Values{"code": {code()}}); p.Status != http.StatusSeeOther {
			t.Fatalf("turning the second factor off: %d %s", p.Status, firstError(p.Body))
		}
		if s := state(); s != " 0 0" {
			t.Fatalf("after turning it off (factor, secrets, codes): %q, want none", s)
		}
		if n := logged(t, parts, id, audit.ActionMFADisabled); n != 1 {
			t.Fatalf("%d entries of the factor turned off, want 1", n)
		}
	})
}

// TestActivityTxPasskey: renaming and removing a passkey (adding one needs
// a host name, not this server's 127.0.0.1: idp/passkey tests it).
func TestActivityTxPasskey(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		const phone = "+79121110904"
		b, _, parts, c, id := activityCitizen(t, db, phone, "Ключев", "Иван")
		store := passkey.NewStore(db, c.Now)
		cred := &passkey.Credential{ID: []byte("credential-0001"), AccountID: id, Name: "Ключ доступа 1", PublicKey: []byte{1, 2, 3}}
		if err := store.Add(ctx, cred, 0); err != nil {
			t.Fatal(err)
		}
		name := func() string {
			got, err := store.Get(ctx, cred.ID)
			if err != nil {
				return "(removed)"
			}
			return got.Name
		}
		pk := base64.RawURLEncoding.EncodeToString(cred.ID)
		rename := url.Values{"id": {pk}, "name": {"Телефон"}}
		var p page
		auditDown(t, db, func() { p = b.post("/account/passkeys/rename", rename) })
		failed(t, "renaming a passkey", p)
		if got := name(); got != "Ключ доступа 1" {
			t.Fatalf("renamed without its entry: %q", got)
		}
		b.post("/account/passkeys/rename", rename).expectRedirect(t, "/account/passkeys?done=renamed")
		auditDown(t, db, func() { p = b.post("/account/passkeys/remove", url.Values{"id": {pk}}) })
		failed(t, "removing a passkey", p)
		if got := name(); got != "Телефон" {
			t.Fatalf("removed without its entry: %q", got)
		}
		b.post("/account/passkeys/remove", url.Values{"id": {pk}}).expectRedirect(t, "/account/passkeys?done=removed")
		if got := name(); got != "(removed)" {
			t.Fatalf("not removed: %q", got)
		}
		if n, m := logged(t, parts, id, audit.ActionPasskeyRenamed), logged(t, parts, id, audit.ActionPasskeyRemoved); n != 1 || m != 1 {
			t.Fatalf("%d renamed and %d removed entries, want 1 each", n, m)
		}
	})
}

// TestActivityTxCertificate: removing and binding an e-signature
// certificate in the account centre.
func TestActivityTxCertificate(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		crls := []string{filepath.Join(certFixtures, "ca.crl"), filepath.Join(certFixtures, "root.crl")}
		srv, _, parts := startOPWith(t, db, sqldbtest.NewClock(time.Now()), func(o *idpOptions) {
			o.Esign = esignOptions{TrustDir: filepath.Join(certFixtures, "trust"), CRLFiles: crls, CRLTimeout: time.Second}
		})
		const phone = "+79121110905"
		b := newBrowser(t, srv)
		b.register("phone", phone, phone, "Иванов", "Иван")
		id := accountOf(t, parts, phone)
		bound := func() int { return rows(t, db, `SELECT COUNT(*) FROM account_certificates WHERE account_id = $1`, id) }
		bind := func() page {
			ch := esignChallenge(t, b, "/account/certificates")
			return b.post("/account/certificates", url.Values{"signature": {string(signAs(t, "citizen256", ch))}})
		}
		if p := bind(); p.Status != 200 || bound() != 1 {
			t.Fatalf("binding: %d, %d bound\n%s", p.Status, bound(), firstError(p.Body))
		}
		fp := regexp.MustCompile(`name="fingerprint" value="([0-9a-f]+)"`).FindStringSubmatch(b.get("/account/certificates").Body)
		if fp == nil {
			t.Fatal("no remove button")
		}
		var p page
		auditDown(t, db, func() { p = b.post("/account/certificates/remove", url.Values{"fingerprint": {fp[1]}}) })
		failed(t, "removing a certificate", p)
		if n := bound(); n != 1 {
			t.Fatal("the certificate was removed without its entry")
		}
		if p := b.post("/account/certificates/remove", url.Values{"fingerprint": {fp[1]}}); p.Status != 200 || bound() != 0 {
			t.Fatalf("removal: %d, %d bound", p.Status, bound())
		}
		if n := logged(t, parts, id, audit.ActionCertificateRemoved); n != 1 {
			t.Fatalf("%d entries of the removal, want 1", n)
		}
		// Bound again, while only the binding's entry fails (the proof
		// that comes first has entries of its own).
		auditDownFor(t, db, audit.ActionCertificateLinked, func() { p = bind() })
		if p.Status/100 == 2 || bound() != 0 {
			t.Fatalf("binding while the activity log fails: %d, %d bound", p.Status, bound())
		}
		if p := bind(); p.Status != 200 || bound() != 1 {
			t.Fatalf("binding again: %d, %d bound\n%s", p.Status, bound(), firstError(p.Body))
		}
		if n := logged(t, parts, id, audit.ActionCertificateLinked); n != 2 {
			t.Fatalf("%d entries of bindings, want 2", n)
		}
	})
}

// TestActivityTxBank: linking a bank identity after signing in with the
// bank, and removing the link.
func TestActivityTxBank(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		srv, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
		startSandboxBank(t, parts)
		const phone = "+79121110906"
		b := newBrowser(t, srv)
		b.register("phone", phone, phone, "Иванов", "Иван")
		id := accountOf(t, parts, phone)
		if p, _ := b.bankSignIn("", "sandbox-0002"); p.Status != 200 || !strings.Contains(p.Body, "ещё не связан") {
			t.Fatalf("unlinked: %d %q", p.Status, firstError(p.Body))
		}
		var p page
		auditDown(t, db, func() { p = b.post("/bank/link", nil) })
		if p.Status != 503 || links(t, db, id) != 0 {
			t.Fatalf("linking while the activity log fails: %d, %d links", p.Status, links(t, db, id))
		}
		b.post("/bank/link", nil).expectRedirect(t, "/account/banks?notice=linked")
		if n := links(t, db, id); n != 1 || logged(t, parts, id, audit.ActionBankLinked) != 1 {
			t.Fatalf("%d links, %d entries after linking, want 1 each", n, logged(t, parts, id, audit.ActionBankLinked))
		}
		auditDown(t, db, func() { p = b.post("/account/banks/remove", url.Values{"bank": {"sandbox"}}) })
		if p.Status != 503 || links(t, db, id) != 1 {
			t.Fatalf("removing the link while the activity log fails: %d, %d links", p.Status, links(t, db, id))
		}
		b.post("/account/banks/remove", url.Values{"bank": {"sandbox"}}).expectRedirect(t, "/account/banks?removed=sandbox")
		if n := links(t, db, id); n != 0 || logged(t, parts, id, audit.ActionBankUnlinked) != 1 {
			t.Fatalf("%d links, %d entries after removal, want 0 and 1", n, logged(t, parts, id, audit.ActionBankUnlinked))
		}
	})
}

// TestActivityTxDeskCode: a code to confirm the identity at an office.
func TestActivityTxDeskCode(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		srv, _, parts := startOPParts(t, db, c)
		if err := staff.NewStore(db, parts.Activity, c.Now).AddOrg(ctx, staff.Org{Code: "mfc-77-001", Kind: staff.KindServiceCentre,
			NameRU: "МФЦ района Хамовники", Region: "77", Address: "Москва, Комсомольский проспект, 28"}); err != nil {
			t.Fatal(err)
		}
		const phone = "+79121110907"
		b := newBrowser(t, srv)
		b.register("phone", phone, phone, "Кодов", "Иван")
		id := accountOf(t, parts, phone)
		codes := func() int { return rows(t, db, `SELECT COUNT(*) FROM desk_codes WHERE account_id = $1`, id) }
		var p page
		auditDown(t, db, func() { p = b.post("/account/confirm/desk", url.Values{"region": {"77"}}) })
		if p.Status != 503 || codes() != 0 {
			t.Fatalf("a code while the activity log fails: %d, %d codes", p.Status, codes())
		}
		b.post("/account/confirm/desk", url.Values{"region": {"77"}}).expectRedirect(t, "/account/confirm/desk")
		if n := codes(); n != 1 || logged(t, parts, id, audit.ActionDeskCodeIssued) != 1 {
			t.Fatalf("%d codes, %d entries, want 1 each", n, logged(t, parts, id, audit.ActionDeskCodeIssued))
		}
	})
}

// TestActivityTxDeletionCancelled: signing in cancels a requested
// deletion; while the log fails the sign-in stands and the deletion stays
// requested, for the next sign-in to cancel.
func TestActivityTxDeletionCancelled(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		const phone = "+79121110908"
		b, _, parts, _, id := activityCitizen(t, db, phone, "Удалёнов", "Борис")
		p := b.postStep("/account/delete/start", nil)
		ch := regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(p.Body)
		if p.Status != 200 || ch == nil {
			t.Fatalf("start deletion: %d", p.Status)
		}
		b.post("/account/delete", url.Values{"challenge": {ch[1]}, "code": {b.latestCode(phone, "code.login")}}).expectRedirect(t, "/account/deleted")
		pending := func() bool {
			a, err := parts.Accounts.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return !a.DeleteAfter.IsZero()
		}
		signIn := url.Values{"login": {phone}, "password": {goodPassword}}
		auditDown(t, db, func() { p = b.post("/login", signIn) })
		p.expectRedirect(t, "/account")
		if !pending() || logged(t, parts, id, audit.ActionDeletionCancelled) != 0 {
			t.Fatalf("deletion cancelled without its entry: pending %v", pending())
		}
		b.post("/logout", nil).expectRedirect(t, "/login")
		b.post("/login", signIn).expectRedirect(t, "/account")
		if pending() || logged(t, parts, id, audit.ActionDeletionCancelled) != 1 {
			t.Fatalf("after a sign-in with the log back: pending %v, %d entries", pending(), logged(t, parts, id, audit.ActionDeletionCancelled))
		}
		if n := countKind(b.messages(phone), "notice.deletion_cancelled"); n != 1 {
			t.Errorf("%d cancellation notices, want 1", n)
		}
	})
}

// TestActivityTxUndo: «Это был не я» restores the phone and ends every
// session with their entries, or, while the sessions' entries fail, does
// nothing and the link works once they can be written.
func TestActivityTxUndo(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		srv, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
		const phone, other = "+79121110909", "+79161110910"
		owner := newBrowser(t, srv)
		owner.register("phone", phone, phone, "Владельцев", "Иван")
		id := accountOf(t, parts, phone)
		intruder := newBrowser(t, srv)
		intruder.post("/login", url.Values{"login": {phone}, "password": {goodPassword}}).expectRedirect(t, "/account")
		intruder.post("/account/contacts/phone", url.Values{"value": {other}}).expectRedirect(t, "/account/contacts/phone/code")
		intruder.post("/account/contacts/phone/code", url.Values{"code": {intruder.latestCode(other, "code.contact")}}).expectRedirect(t, "/account?done=contact_phone")
		msgs := owner.messages(phone)
		if len(msgs) == 0 {
			t.Fatal("no notice to the old phone")
		}
		u, err := url.Parse(undoLinkRe.FindString(msgs[0].Text))
		if err != nil || u.Query().Get("token") == "" {
			t.Fatalf("no undo link in %q", msgs[0].Text)
		}
		undo := url.Values{"token": {u.Query().Get("token")}}
		phoneNow := func() string {
			a, err := parts.Accounts.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			return a.Phone.Value
		}
		link := newBrowser(t, srv)
		var p page
		auditDownFor(t, db, audit.ActionSessionEnded, func() { p = link.post("/account/undo", undo) })
		failed(t, "undoing a contact change", p)
		if p := intruder.get("/account"); p.Status != 200 || phoneNow() != other {
			t.Fatalf("undone without its entries: the intruder's session %d, the phone %s", p.Status, phoneNow())
		}
		if n := logged(t, parts, id, audit.ActionContactChangeUndone) + logged(t, parts, id, audit.ActionSessionEnded); n != 0 {
			t.Fatalf("%d entries of an undo not made", n)
		}
		if p := link.post("/account/undo", undo); p.Status != 200 || !strings.Contains(p.Body, "Изменение отменено") {
			t.Fatalf("undo: %d %s", p.Status, firstError(p.Body))
		}
		intruder.get("/account").expectRedirect(t, "/login")
		if phoneNow() != phone {
			t.Fatalf("the phone is %s after the undo", phoneNow())
		}
		if n, m := logged(t, parts, id, audit.ActionContactChangeUndone), logged(t, parts, id, audit.ActionSessionEnded); n != 1 || m != 2 {
			t.Fatalf("%d undo and %d session entries, want 1 and 2", n, m)
		}
	})
}

// TestActivityTxPasswordChanged: a new password in the account centre.
func TestActivityTxPasswordChanged(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		const phone, newPassword = "+79121110911", "Hq8&tRe5!nWb"
		b, srv, parts, _, id := activityCitizen(t, db, phone, "Паролев", "Иван")
		change := url.Values{"current_password": {goodPassword}, "password": {newPassword}, "password_confirm": {newPassword}}
		var p page
		auditDown(t, db, func() { p = b.post("/account/password", change) })
		failed(t, "changing the password", p)
		if p := newBrowser(t, srv).post("/login", url.Values{"login": {phone}, "password": {goodPassword}}); p.Status != http.StatusSeeOther {
			t.Fatalf("the password changed without its entry: the old one answers %d", p.Status)
		}
		if n := logged(t, parts, id, audit.ActionPasswordChanged); n != 0 {
			t.Fatalf("%d entries of a password not changed", n)
		}
		if p := b.post("/account/password", change); p.Status != 200 || !strings.Contains(p.Body, "Пароль изменён") {
			t.Fatalf("the change with the log back: %d", p.Status)
		}
		if n := logged(t, parts, id, audit.ActionPasswordChanged); n != 1 {
			t.Fatalf("%d entries of the changed password, want 1", n)
		}
	})
}

// TestActivityTxDetails: personal data changed in the account centre.
func TestActivityTxDetails(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		const phone = "+79121110912"
		b, _, parts, _, id := activityCitizen(t, db, phone, "Данных", "Иван")
		family := func() string {
			a, err := parts.Accounts.FindByLogin(context.Background(), account.Phone, phone)
			if err != nil {
				t.Fatal(err)
			}
			return a.Name.Family
		}
		form := url.Values{"family_name": {"Сведений"}, "given_name": {"Иван"}}
		var p page
		auditDown(t, db, func() { p = b.post("/account/details", form) })
		failed(t, "changing the details", p)
		if f := family(); f != "Данных" {
			t.Fatalf("the surname changed to %q without its entry", f)
		}
		if n := logged(t, parts, id, audit.ActionDocumentsUpdated); n != 0 {
			t.Fatalf("%d entries of details not changed", n)
		}
		b.post("/account/details", form).expectRedirect(t, "/account?done=details")
		if f := family(); f != "Сведений" {
			t.Fatalf("the surname after the change: %q", f)
		}
		if n := logged(t, parts, id, audit.ActionDocumentsUpdated); n != 1 {
			t.Fatalf("%d entries of the changed details, want 1", n)
		}
	})
}

// TestActivityTxMFAEnabled: the authenticator app turned on.
func TestActivityTxMFAEnabled(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		const phone = "+79121110914"
		b, _, parts, c, id := activityCitizen(t, db, phone, "Факторов", "Иван")
		code := beginAuthenticator(t, b, c)
		mfa := func() string {
			a, err := parts.Accounts.FindByLogin(context.Background(), account.Phone, phone)
			if err != nil {
				t.Fatal(err)
			}
			return a.MFA
		}
		var p page
		auditDown(t, db, func() { p = b.post("/account/security/totp/confirm", url.Values{"code": {code()}}) })
		failed(t, "turning the authenticator on", p)
		if f := mfa(); f != "" {
			t.Fatalf("the second factor is %q without its entry", f)
		}
		if n := logged(t, parts, id, audit.ActionMFAEnabled); n != 0 {
			t.Fatalf("%d entries of a second factor not turned on", n)
		}
		if p := b.postStep("/account/security/totp/confirm", url.Values{"code": {code()}}); len(backupRe.FindAllString(p.Body, -1)) != 10 {
			t.Fatalf("turning it on with the log back: %d\n%s", p.Status, firstError(p.Body))
		}
		if f := mfa(); f == "" {
			t.Fatal("no second factor after turning it on")
		}
		if n := logged(t, parts, id, audit.ActionMFAEnabled); n != 1 {
			t.Fatalf("%d entries of the second factor turned on, want 1", n)
		}
	})
}

// TestActivityTxContactChanged: a new phone confirmed by its code. The
// code is spent by its check, before the change's transaction: after a
// failure nothing is changed and the citizen asks for a new code (a known
// gap: the authenticator's step keeps its code for the retry, SMS codes
// do not yet).
func TestActivityTxContactChanged(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		const phone, newPhone = "+79121110915", "+79162223355"
		b, srv, parts, c, id := activityCitizen(t, db, phone, "Контактов", "Иван")
		b.post("/account/contacts/phone", url.Values{"value": {newPhone}}).expectRedirect(t, "/account/contacts/phone/code")
		var p page
		auditDown(t, db, func() {
			p = b.post("/account/contacts/phone/code", url.Values{"code": {b.latestCode(newPhone, "code.contact")}})
		})
		failed(t, "changing the phone", p)
		if p := newBrowser(t, srv).post("/login", url.Values{"login": {phone}, "password": {goodPassword}}); p.Status != http.StatusSeeOther {
			t.Fatalf("the phone changed without its entry: the old one answers %d", p.Status)
		}
		if n := logged(t, parts, id, audit.ActionContactChanged); n != 0 {
			t.Fatalf("%d entries of a phone not changed", n)
		}
		c.Advance(2 * time.Minute) // the code's cool-down
		b.post("/account/contacts/phone/resend", nil).expectRedirect(t, "/account/contacts/phone/code?resent=1")
		b.post("/account/contacts/phone/code", url.Values{"code": {b.latestCode(newPhone, "code.contact")}}).expectRedirect(t, "/account?done=contact_phone")
		if p := newBrowser(t, srv).post("/login", url.Values{"login": {newPhone}, "password": {goodPassword}}); p.Status != http.StatusSeeOther {
			t.Fatalf("sign-in with the new phone: %d", p.Status)
		}
		if n := logged(t, parts, id, audit.ActionContactChanged); n != 1 {
			t.Fatalf("%d entries of the changed phone, want 1", n)
		}
	})
}
