package passkey

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestConfigFromPublicURL(t *testing.T) {
	for _, tc := range []struct{ in, rpID, origin string }{
		{"https://id.gosid.ru", "id.gosid.ru", "https://id.gosid.ru"},
		{"https://ID.Gosid.RU/", "id.gosid.ru", "https://id.gosid.ru"},
		{"http://localhost:8080", "localhost", "http://localhost:8080"},
		{"https://gosid.ru:8443/idp", "gosid.ru", "https://gosid.ru:8443"},
	} {
		cfg, err := ConfigFromPublicURL(tc.in)
		if err != nil || cfg.RPID != tc.rpID || len(cfg.Origins) != 1 || cfg.Origins[0] != tc.origin {
			t.Errorf("%s: %+v, %v", tc.in, cfg, err)
		}
	}
	for _, bad := range []string{"", "id.gosid.ru", "ftp://id.gosid.ru", "://"} {
		if _, err := ConfigFromPublicURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAMR(t *testing.T) {
	for _, tc := range []struct {
		be         bool
		attachment string
		uv         bool
		want       []string
	}{
		{false, "cross-platform", true, []string{"hwk", "user"}}, // security key with PIN
		{false, "cross-platform", false, []string{"hwk"}},        // security key, touch only
		{false, "platform", true, []string{"swk", "user"}},       // device-bound platform passkey
		{true, "platform", true, []string{"swk", "user"}},        // synced passkey
		{true, "cross-platform", true, []string{"swk", "user"}},  // synced passkey from a phone (hybrid)
		{false, "", true, []string{"swk", "user"}},               // attachment unknown
	} {
		if got := AMR(tc.be, tc.attachment, tc.uv); !slices.Equal(got, tc.want) {
			t.Errorf("AMR(be=%v, %q, uv=%v) = %v, want %v", tc.be, tc.attachment, tc.uv, got, tc.want)
		}
	}
}

func TestUnavailableOnIPAddress(t *testing.T) {
	e := newEnvAt(t, sqldbtest.SQLite(t), "http://127.0.0.1:8080")
	if e.svc.Available() {
		t.Fatal("passkeys available on an IP address")
	}
	if _, err := e.svc.BeginLogin(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("BeginLogin: %v", err)
	}
	if _, err := e.svc.FinishLogin(context.Background(), []byte(`{}`)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("FinishLogin: %v", err)
	}
}

// TestRegisterAndSignIn: the whole passwordless path with a software
// authenticator, on both dialects.
func TestRegisterAndSignIn(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		a := e.newAccount(t)
		auth := e.authenticator(t)

		opts, err := e.svc.BeginRegistration(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		o := parseOptions(t, opts)
		if o.PublicKey.RP.ID != "id.gosid.test" || o.PublicKey.AuthenticatorSelection.ResidentKey != "required" ||
			o.PublicKey.AuthenticatorSelection.UserVerification != "required" || len(o.PublicKey.ExcludeCredentials) != 0 {
			t.Fatalf("creation options: %s", opts)
		}
		if !bytes.Equal(mustB64(t, o.PublicKey.User.ID), userHandle(a.ID)) || len(userHandle(a.ID)) != 16 {
			t.Fatalf("user.id %q is not the account's handle", o.PublicKey.User.ID)
		}
		c, err := e.svc.FinishRegistration(ctx, a.ID, auth.create(t, opts), "", "ru")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.ID, auth.credID) || c.Name != "Ключ доступа 1" || c.SignCount != 1 || c.Attachment != "platform" ||
			!c.UserVerified || c.BackupEligible || !slices.Equal(c.Transports, []string{"internal", "hybrid"}) ||
			!bytes.Equal(c.AAGUID, auth.aaguid[:]) || c.Attestation != "none" {
			t.Fatalf("stored %+v", c)
		}

		// The second registration excludes the first credential and is
		// named «Ключ доступа 2».
		opts, err = e.svc.BeginRegistration(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if o := parseOptions(t, opts); len(o.PublicKey.ExcludeCredentials) != 1 || o.PublicKey.ExcludeCredentials[0].ID != b64.EncodeToString(auth.credID) {
			t.Fatalf("excludeCredentials: %s", opts)
		}
		key := e.authenticator(t)
		key.attachment = "cross-platform"
		key.transports = []string{"usb", "nfc"}
		c2, err := e.svc.FinishRegistration(ctx, a.ID, key.create(t, opts), "", "ru")
		if err != nil || c2.Name != "Ключ доступа 2" {
			t.Fatalf("second: %+v, %v", c2, err)
		}
		// The same credential again: refused, nothing stored.
		opts, _ = e.svc.BeginRegistration(ctx, a.ID)
		if _, err := e.svc.FinishRegistration(ctx, a.ID, key.create(t, opts), "", "ru"); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("duplicate: %v", err)
		}

		// Sign in with the passkey alone.
		opts, err = e.svc.BeginLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if o := parseOptions(t, opts); len(o.PublicKey.AllowCredentials) != 0 || o.PublicKey.UserVerification != "required" || o.PublicKey.RPID != "id.gosid.test" {
			t.Fatalf("request options: %s", opts)
		}
		e.clock.Advance(time.Minute)
		res, err := e.svc.FinishLogin(ctx, auth.get(t, opts))
		if err != nil {
			t.Fatal(err)
		}
		if res.Account.ID != a.ID || !slices.Equal(res.AMR, []string{"swk", "user"}) {
			t.Fatalf("result: account %s amr %v", res.Account.ID, res.AMR)
		}
		got, _ := e.store.Get(ctx, auth.credID)
		if got.SignCount != 2 || !got.LastUsedAt.Equal(e.clock.Now()) {
			t.Fatalf("after sign-in: count %d, last used %v", got.SignCount, got.LastUsedAt)
		}

		// A security key signs in as hwk.
		opts, _ = e.svc.BeginLogin(ctx)
		res, err = e.svc.FinishLogin(ctx, key.get(t, opts))
		if err != nil || !slices.Equal(res.AMR, []string{"hwk", "user"}) {
			t.Fatalf("security key: %v, %v", res, err)
		}

		// Second factor: allowCredentials are the account's; UV preferred.
		opts, err = e.svc.BeginSecondFactor(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if o := parseOptions(t, opts); len(o.PublicKey.AllowCredentials) != 2 || o.PublicKey.UserVerification != "preferred" {
			t.Fatalf("second-factor options: %s", opts)
		}
		key.uv = false
		amr, err := e.svc.FinishSecondFactor(ctx, a.ID, key.get(t, opts))
		if err != nil || !slices.Equal(amr, []string{"hwk"}) {
			t.Fatalf("second factor without UV: %v, %v", amr, err)
		}
		opts, _ = e.svc.BeginSecondFactor(ctx, a.ID)
		amr, err = e.svc.FinishSecondFactor(ctx, a.ID, auth.get(t, opts))
		if err != nil || !slices.Equal(amr, []string{"swk", "user"}) {
			t.Fatalf("second factor with UV: %v, %v", amr, err)
		}
		// Another account's challenge, or another account's credential.
		b := e.newAccount(t)
		opts, _ = e.svc.BeginSecondFactor(ctx, a.ID)
		if _, err := e.svc.FinishSecondFactor(ctx, b.ID, auth.get(t, opts)); !errors.Is(err, ErrChallenge) {
			t.Fatalf("another account's challenge: %v", err)
		}
		if _, err := e.svc.BeginSecondFactor(ctx, b.ID); !errors.Is(err, ErrNoCredentials) {
			t.Fatalf("no credentials: %v", err)
		}
	})
}

// TestRefusals: each way of getting a ceremony wrong gets its own error and
// leaves nothing behind.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, sqldbtest.SQLite(t))
	a := e.newAccount(t)
	auth := e.authenticator(t)
	e.register(t, a.ID, auth)

	login := func(mut func(s *softAuthenticator)) error {
		t.Helper()
		opts, err := e.svc.BeginLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s := *auth
		if mut != nil {
			mut(&s)
		}
		_, err = e.svc.FinishLogin(ctx, s.get(t, opts))
		auth.counter = s.counter
		return err
	}
	register := func(mut func(s *softAuthenticator)) error {
		t.Helper()
		opts, err := e.svc.BeginRegistration(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		s := e.authenticator(t)
		if mut != nil {
			mut(s)
		}
		_, err = e.svc.FinishRegistration(ctx, a.ID, s.create(t, opts), "", "ru")
		return err
	}
	for _, tc := range []struct {
		name string
		mut  func(s *softAuthenticator)
		want *Error
	}{
		{"wrong origin", func(s *softAuthenticator) { s.origin = "https://id.gosid.test.evil.ru" }, ErrOrigin},
		{"http origin", func(s *softAuthenticator) { s.origin = "http://id.gosid.test" }, ErrOrigin},
		{"wrong RP ID", func(s *softAuthenticator) { s.rpID = "evil.ru" }, ErrRPID},
		{"no user verification", func(s *softAuthenticator) { s.uv = false }, ErrUserVerification},
		{"unknown challenge", func(s *softAuthenticator) { s.challenge = b64.EncodeToString(randomBytes(32)) }, ErrChallenge},
		{"malformed challenge", func(s *softAuthenticator) { s.challenge = "***" }, ErrChallenge},
		{"wrong ceremony type", func(s *softAuthenticator) {
			if s.ceremonyType == "" {
				s.ceremonyType = "webauthn.other"
			}
		}, ErrVerification},
	} {
		t.Run("login/"+tc.name, func(t *testing.T) {
			if err := login(tc.mut); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %s", err, tc.want.Code)
			}
		})
		t.Run("register/"+tc.name, func(t *testing.T) {
			if err := register(tc.mut); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %s", err, tc.want.Code)
			}
		})
	}
	if creds, _ := e.store.List(ctx, a.ID); len(creds) != 1 {
		t.Fatalf("%d credentials after refused registrations, want 1", len(creds))
	}

	t.Run("huge RSA key", func(t *testing.T) {
		n := randomBytes(8192 / 8)
		n[0] |= 0x80
		key, err := webauthncbor.Marshal(map[int]any{1: 3, 3: -257, -1: n, -2: []byte{1, 0, 1}})
		if err != nil {
			t.Fatal(err)
		}
		if err := register(func(s *softAuthenticator) { s.coseKey = key }); !errors.Is(err, ErrVerification) || !strings.Contains(err.Error(), "too large") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("other key's signature", func(t *testing.T) {
		err := login(func(s *softAuthenticator) { s.key = newSoftAuthenticator(t, e.rpID, e.origin).key })
		if !errors.Is(err, ErrVerification) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown credential", func(t *testing.T) {
		err := login(func(s *softAuthenticator) { s.credID = randomBytes(32) })
		if !errors.Is(err, ErrUnknownCredential) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("user handle of another account", func(t *testing.T) {
		err := login(func(s *softAuthenticator) { s.userHandle = userHandle(e.newAccount(t).ID) })
		if !errors.Is(err, ErrVerification) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("replayed", func(t *testing.T) {
		opts, _ := e.svc.BeginLogin(ctx)
		resp := auth.get(t, opts)
		if _, err := e.svc.FinishLogin(ctx, resp); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.FinishLogin(ctx, resp); !errors.Is(err, ErrChallenge) {
			t.Fatalf("replay: %v", err)
		}
		// A fresh assertion for the spent challenge is refused too.
		if _, err := e.svc.FinishLogin(ctx, auth.get(t, opts)); !errors.Is(err, ErrChallenge) {
			t.Fatalf("spent challenge: %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		opts, _ := e.svc.BeginLogin(ctx)
		e.clock.Advance(5*time.Minute + time.Second)
		if _, err := e.svc.FinishLogin(ctx, auth.get(t, opts)); !errors.Is(err, ErrExpired) {
			t.Fatalf("got %v", err)
		}
		ropts, _ := e.svc.BeginRegistration(ctx, a.ID)
		e.clock.Advance(6 * time.Minute)
		if _, err := e.svc.FinishRegistration(ctx, a.ID, e.authenticator(t).create(t, ropts), "", "ru"); !errors.Is(err, ErrExpired) {
			t.Fatalf("registration: %v", err)
		}
	})
	t.Run("registration challenge of another account", func(t *testing.T) {
		opts, _ := e.svc.BeginRegistration(ctx, a.ID)
		b := e.newAccount(t)
		if _, err := e.svc.FinishRegistration(ctx, b.ID, e.authenticator(t).create(t, opts), "", "ru"); !errors.Is(err, ErrChallenge) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("sign-in challenge used for registration", func(t *testing.T) {
		opts, _ := e.svc.BeginLogin(ctx)
		s := e.authenticator(t)
		if _, err := e.svc.FinishRegistration(ctx, a.ID, s.create(t, opts), "", "ru"); !errors.Is(err, ErrChallenge) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("blocked account", func(t *testing.T) {
		b := e.newAccount(t)
		s := e.authenticator(t)
		e.register(t, b.ID, s)
		if err := e.accounts.SetStatus(ctx, b.ID, account.StatusBlocked); err != nil {
			t.Fatal(err)
		}
		opts, _ := e.svc.BeginLogin(ctx)
		res, err := e.svc.FinishLogin(ctx, s.get(t, opts))
		if !errors.Is(err, ErrBlocked) || res == nil || res.Credential.AccountID != b.ID {
			t.Fatalf("got %v, %v", res, err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, body := range []string{"", "{}", "null", "[]", `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`, "{} {}"} {
			if _, err := e.svc.FinishLogin(ctx, []byte(body)); !errors.Is(err, ErrMalformed) {
				t.Errorf("login %q: %v", body, err)
			}
			if _, err := e.svc.FinishRegistration(ctx, a.ID, []byte(body), "", "ru"); !errors.Is(err, ErrMalformed) {
				t.Errorf("register %q: %v", body, err)
			}
		}
	})
}

// TestCounterRegression: an assertion whose counter does not advance is
// refused, the credential flagged, and refused from then on.
func TestCounterRegression(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, sqldbtest.SQLite(t))
	a := e.newAccount(t)
	auth := e.authenticator(t)
	e.register(t, a.ID, auth) // counter 1
	for range 3 {
		opts, _ := e.svc.BeginLogin(ctx)
		if _, err := e.svc.FinishLogin(ctx, auth.get(t, opts)); err != nil {
			t.Fatal(err)
		}
	}
	// A clone made when the counter was 2 signs with 3 (the original is at 4).
	clone := *auth
	clone.counter = 2
	opts, _ := e.svc.BeginLogin(ctx)
	res, err := e.svc.FinishLogin(ctx, clone.get(t, opts))
	if !errors.Is(err, ErrCloned) || res == nil || res.Credential == nil {
		t.Fatalf("regressed counter: %v, %v", res, err)
	}
	c, _ := e.store.Get(ctx, auth.credID)
	if !c.CloneWarning || c.SignCount != 4 {
		t.Fatalf("after regression: flagged %v, count %d", c.CloneWarning, c.SignCount)
	}
	// The original, with a higher counter, is refused now too.
	opts, _ = e.svc.BeginLogin(ctx)
	if _, err := e.svc.FinishLogin(ctx, auth.get(t, opts)); !errors.Is(err, ErrCloned) {
		t.Fatalf("flagged credential: %v", err)
	}
	// And it is not offered as a second factor.
	if _, err := e.svc.BeginSecondFactor(ctx, a.ID); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("second factor with a flagged credential only: %v", err)
	}

	// Authenticators without a counter (0 every time) are fine.
	z := e.authenticator(t)
	z.noCounter = true
	e.register(t, a.ID, z)
	for range 3 {
		opts, _ := e.svc.BeginLogin(ctx)
		if _, err := e.svc.FinishLogin(ctx, z.get(t, opts)); err != nil {
			t.Fatalf("zero counter: %v", err)
		}
	}
}

func TestLimit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, sqldbtest.SQLite(t))
	e.svc.cfg.MaxCredentials = 2
	a := e.newAccount(t)
	e.register(t, a.ID, e.authenticator(t))
	opts, err := e.svc.BeginRegistration(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Two registrations begun before either finished: the second finish
	// is over the limit.
	opts2, err := e.svc.BeginRegistration(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if _, err := e.svc.FinishRegistration(ctx, a.ID, e.authenticator(t).create(t, opts), "", "en"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.FinishRegistration(ctx, a.ID, e.authenticator(t).create(t, opts2), "", "en"); !errors.Is(err, ErrLimit) {
		t.Fatalf("over the limit: %v", err)
	}
	var le *Error
	_, err = e.svc.BeginRegistration(ctx, a.ID)
	if !errors.As(err, &le) || le.Code != "too_many" || le.Message("en") != "At most 2 passkeys can be registered. Remove one you no longer use." {
		t.Fatalf("begin over the limit: %v", err)
	}
	if creds, _ := e.store.List(ctx, a.ID); len(creds) != 2 || creds[1].Name != "Passkey 2" {
		t.Fatalf("credentials: %+v", creds)
	}
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
