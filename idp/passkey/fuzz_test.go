package passkey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// FuzzFinish sends arbitrary bodies to the finish routes (sign-in and
// registration), through go-webauthn's ParseCredentialRequestResponse and
// ParseCredentialCreationResponse and everything after them. Before each
// body the seeds' challenge is stored afresh, so that mutations of
// well-formed responses get past the challenge to the CBOR, COSE and
// signature checks. Whatever the body, the handler must not panic, must
// not answer 500, and must answer a JSON refusal or a redirect.
//
// The storage is in memory (memStore, with Store's semantics; the SQL store
// has its own suite): under the fuzzer's coverage instrumentation SQLite
// manages a few hundred statements a second.
//
//	go test -run '^$' -fuzz FuzzFinish -fuzztime 30s ./idp/passkey/
func FuzzFinish(f *testing.F) {
	ctx := context.Background()
	clock := sqldbtest.NewClock(t0)
	a := &account.Account{ID: "01a20441-7c77-7a31-973d-e4cffa2a5297", Status: account.StatusActive,
		Name: account.Name{Family: "Иванов", Given: "Иван"}, Phone: account.Contact{Value: "+79123456789", VerifiedAt: t0}}
	cfg, _ := ConfigFromPublicURL("https://id.gosid.test")
	cfg.Now = clock.Now
	store := newMemStore(clock.Now)
	svc, err := NewService(cfg, store, memAccounts{a}, quietLog())
	if err != nil {
		f.Fatal(err)
	}
	h, err := New(Deps{Service: svc, Accounts: memAccounts{a}, Sessions: memSessions{a.ID}, Log: quietLog(), Now: clock.Now,
		Activity: memActivity{}, StoreIn: func(sqldb.Runner) Storage { return store }})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)

	// The seeds: a registration and a sign-in for one fixed challenge each.
	regChallenge, loginChallenge := bytes.Repeat([]byte{0x5a}, 32), bytes.Repeat([]byte{0xa5}, 32)
	auth := newSoftAuthenticator(f, cfg.RPID, cfg.Origins[0])
	auth.noCounter = true // a seed that signs in again must not look cloned
	regOpts, _ := json.Marshal(map[string]any{"publicKey": map[string]any{"challenge": b64.EncodeToString(regChallenge),
		"user": map[string]any{"id": b64.EncodeToString(userHandle(a.ID))}}})
	regBody := auth.create(f, regOpts)
	rearm(f, store, cfg.RPID, regChallenge, PurposeRegister, a.ID)
	if _, err := svc.FinishRegistration(ctx, a.ID, regBody, "", "ru"); err != nil {
		f.Fatalf("seed registration: %v", err)
	}
	loginBody := auth.assert(b64.EncodeToString(loginChallenge))
	rearm(f, store, cfg.RPID, loginChallenge, PurposeLogin, "")
	if _, err := svc.FinishLogin(ctx, loginBody); err != nil {
		f.Fatalf("seed sign-in: %v", err)
	}

	f.Add(uint8(0), loginBody)
	f.Add(uint8(1), regBody)
	f.Add(uint8(0), []byte(`{"id":"AQID","rawId":"AQID","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`))
	f.Add(uint8(1), []byte(`{"id":"AQID","rawId":"AQID","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	f.Add(uint8(0), []byte(`null`))
	f.Add(uint8(1), []byte{})

	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := "/login/passkey/finish?next=%2Faccount"
		if route%2 == 1 {
			path = "/passkeys/register/finish"
			rearm(t, store, cfg.RPID, regChallenge, PurposeRegister, a.ID)
		} else {
			rearm(t, store, cfg.RPID, loginChallenge, PurposeLogin, "")
		}
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s answered %d: %s", path, rec.Code, rec.Body)
		}
		var m map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s answered %d with no JSON: %q", path, rec.Code, rec.Body)
		}
		if rec.Code == 200 && m["redirect"] == "" || rec.Code != 200 && (m["error"] == "" || m["message"] == "") {
			t.Fatalf("%s answered %d %s", path, rec.Code, rec.Body)
		}
	})
}

// rearm stores challenge for purpose as begin would have, replacing an
// unspent one.
func rearm(t testing.TB, store Storage, rpID string, challenge []byte, purpose, accountID string) {
	t.Helper()
	ctx := context.Background()
	sum := sha256.Sum256(challenge)
	_, _ = store.ConsumeChallenge(ctx, sum[:], purpose)
	sd := webauthn.SessionData{Challenge: b64.EncodeToString(challenge), RelyingPartyID: rpID,
		UserVerification: protocol.VerificationRequired}
	if purpose == PurposeRegister {
		sd.UserID = userHandle(accountID)
		sd.CredParams = webauthn.CredentialParametersDefault()
	}
	data, _ := json.Marshal(sd)
	if err := store.SaveChallenge(ctx, Challenge{Hash: sum[:], Purpose: purpose, AccountID: accountID, SessionData: data,
		ExpiresAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
}
