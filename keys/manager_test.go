package keys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

func TestFirstStartAndReopen(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock()
		mk := newMaster(t)
		m := mustOpen(t, db, mk, options(c))
		list := mustList(t, m)
		if len(list) != 2 {
			t.Fatalf("first start made %d keys, want 2: %+v", len(list), list)
		}
		for i, alg := range keys.Algorithms() {
			k := list[i]
			if k.Alg != alg || k.Seq != 1 || k.State != keys.StateActive || !k.SignsFrom.Equal(c.Now()) || !k.SignsUntil.IsZero() {
				t.Errorf("key %d = %+v, want %s seq 1 active since now", i, k, alg)
			}
			if s := mustSigner(t, m, alg); s.ID != k.KID || s.Alg != alg || s.Private == nil {
				t.Errorf("Signer(%s) = %v, want kid %s", alg, s, k.KID)
			}
		}
		var n int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM data_keys`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("data keys: %d, %v; want 1", n, err)
		}

		before := dump(t, db)
		c.Advance(time.Hour)
		m2 := mustOpen(t, db, mk, options(c))
		for _, alg := range keys.Algorithms() {
			if a, b := mustSigner(t, m, alg).ID, mustSigner(t, m2, alg).ID; a != b {
				t.Errorf("%s: reopened Manager signs with %s, first with %s", alg, b, a)
			}
		}
		if after := dump(t, db); after != before {
			t.Errorf("reopening changed the database:\n%s\nthen\n%s", before, after)
		}
		if !bytes.Equal(m.JSON(), m2.JSON()) {
			t.Errorf("JWKS differ after reopening")
		}
		if _, err := m.Signer("HS256"); err == nil {
			t.Error("Signer(HS256) succeeded")
		}
	})
}

func TestWrongMasterKey(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock()
		right, wrong := newMaster(t), newMaster(t)
		mustOpen(t, db, right, options(c))
		before := dump(t, db)
		c.Advance(100 * 24 * time.Hour) // a rotation would be due: still nothing may be written
		_, err := keys.Open(context.Background(), db, wrong, options(c))
		if !errors.Is(err, keys.ErrWrongMasterKey) {
			t.Fatalf("Open with another master key: %v, want ErrWrongMasterKey", err)
		}
		if msg := err.Error(); !strings.Contains(msg, right.ID()) || !strings.Contains(msg, wrong.ID()) {
			t.Errorf("error %q does not name both fingerprints %s and %s", msg, right.ID(), wrong.ID())
		}
		if after := dump(t, db); after != before {
			t.Errorf("failed Open changed the database:\n%s\nthen\n%s", before, after)
		}
	})
}

func TestJWKS(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock()
		m := mustOpen(t, db, newMaster(t), options(c))
		doc := m.JSON()

		var raw struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(doc, &raw); err != nil {
			t.Fatalf("JWKS is not JSON: %v\n%s", err, doc)
		}
		want := map[string][]string{
			"ES256": {"alg", "crv", "kid", "kty", "use", "x", "y"},
			"RS256": {"alg", "e", "kid", "kty", "n", "use"},
		}
		if len(raw.Keys) != 2 {
			t.Fatalf("JWKS has %d keys, want 2: %s", len(raw.Keys), doc)
		}
		for _, k := range raw.Keys {
			alg, _ := k["alg"].(string)
			members := slices.Sorted(maps.Keys(k))
			if !slices.Equal(members, want[alg]) {
				t.Errorf("%s JWK has members %v, want exactly %v", alg, members, want[alg])
			}
			if k["use"] != "sig" {
				t.Errorf("%s JWK use = %v", alg, k["use"])
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := k[private]; ok {
					t.Errorf("%s JWK publishes private member %q", alg, private)
				}
			}
		}
		if pk := m.PublicKeys(); len(pk) != 2 || pk[0].Alg != "ES256" || pk[1].Alg != "RS256" {
			t.Errorf("PublicKeys = %+v", pk)
		}

		// A relying party parses what we serve and verifies what we sign.
		set, err := jwk.Parse(doc)
		if err != nil {
			t.Fatalf("jwx cannot parse our JWKS: %v", err)
		}
		for _, alg := range keys.Algorithms() {
			sk := mustSigner(t, m, alg)
			token := signJWT(t, sk, []byte(`{"iss":"https://id.example","sub":"x"}`))
			payload, err := jws.Verify(token, jws.WithKeySet(set))
			if err != nil {
				t.Errorf("%s token does not verify against the JWKS: %v", alg, err)
			} else if string(payload) != `{"iss":"https://id.example","sub":"x"}` {
				t.Errorf("payload = %s", payload)
			}
			tampered := bytes.Clone(token)
			tampered[len(tampered)-5] ^= 'A' ^ 'B'
			if _, err := jws.Verify(tampered, jws.WithKeySet(set)); err == nil {
				t.Errorf("%s: tampered token verifies", alg)
			}
		}
	})
}

func signJWT(t testing.TB, sk keys.SigningKey, payload []byte) []byte {
	t.Helper()
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, sk.ID); err != nil {
		t.Fatal(err)
	}
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		t.Fatal(err)
	}
	alg, ok := jwa.LookupSignatureAlgorithm(sk.Alg)
	if !ok {
		t.Fatalf("unknown alg %s", sk.Alg)
	}
	token, err := jws.Sign(payload, jws.WithKey(alg, sk.Private, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return token
}

// jwksKIDs returns the kids in the JWKS, per alg.
func jwksKIDs(t testing.TB, m *keys.Manager) map[string][]string {
	t.Helper()
	set, err := jwk.Parse(m.JSON())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, _ := k.KeyID()
		alg, _ := k.Algorithm()
		out[alg.String()] = append(out[alg.String()], kid)
	}
	return out
}

func TestLifecycle(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		mk := newMaster(t)
		m := mustOpen(t, db, mk, options(c))
		lead := keys.DefaultMaxTokenLifetime
		old := mustSigner(t, m, "ES256")
		oldRSA := mustSigner(t, m, "RS256")

		c.Advance(24 * time.Hour)
		rotated, err := m.Rotate(ctx, keys.RotateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rotated) != 2 {
			t.Fatalf("Rotate returned %+v", rotated)
		}
		next := rotated[0]
		if next.Alg != "ES256" || next.Seq != 2 || next.State != keys.StatePublished || !next.SignsFrom.Equal(c.Now().Add(lead)) {
			t.Fatalf("new key %+v: want ES256 seq 2 published, signing in %s", next, lead)
		}
		check := func(when string, signer string, published ...string) {
			t.Helper()
			if got := mustSigner(t, m, "ES256").ID; got != signer {
				t.Errorf("%s: signing with %s, want %s", when, got, signer)
			}
			if got := jwksKIDs(t, m)["ES256"]; !slices.Equal(got, published) {
				t.Errorf("%s: JWKS has %v, want %v", when, got, published)
			}
		}
		check("just after rotation", old.ID, old.ID, next.KID)

		c.Advance(lead - time.Second)
		check("just before the new key signs", old.ID, old.ID, next.KID)
		c.Advance(time.Second)
		check("when the new key signs", next.KID, old.ID, next.KID)
		if got := find(t, mustList(t, m), old.ID); got.State != keys.StateRetiring ||
			!got.SignsUntil.Equal(next.SignsFrom) || !got.RetiresAt.Equal(next.SignsFrom.Add(lead)) {
			t.Errorf("old key %+v, want retiring until %s", got, next.SignsFrom.Add(lead))
		}
		if mustSigner(t, m, "RS256").ID == oldRSA.ID {
			t.Error("RS256 did not move to its new key")
		}

		c.Advance(lead - time.Second)
		check("just before the old key retires", next.KID, old.ID, next.KID)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if privateEnc(t, db, old.ID) == nil {
			t.Error("private part erased while the key is still published")
		}
		c.Advance(time.Second)
		check("when the old key retires", next.KID, next.KID)
		if got := find(t, mustList(t, m), old.ID); got.State != keys.StateRetired {
			t.Errorf("old key state %s, want retired", got.State)
		}
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		for _, kid := range []string{old.ID, oldRSA.ID} {
			if privateEnc(t, db, kid) != nil {
				t.Errorf("retired key %s still has its private part", kid)
			}
		}
		if privateEnc(t, db, next.KID) == nil {
			t.Error("the active key lost its private part")
		}
		// A replica started now loads only what it needs.
		m2 := mustOpen(t, db, mk, options(c))
		if !bytes.Equal(m.JSON(), m2.JSON()) {
			t.Error("a new replica serves another JWKS")
		}
	})
}

func TestEmergencyRotation(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		mk := newMaster(t)
		m := mustOpen(t, db, mk, options(c))
		replica := mustOpen(t, db, mk, options(c))
		first := mustSigner(t, m, "ES256")
		pending, err := m.Rotate(ctx, keys.RotateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Minute)
		fresh, err := m.Rotate(ctx, keys.RotateOptions{Emergency: true})
		if err != nil {
			t.Fatal(err)
		}
		for i, alg := range keys.Algorithms() {
			k := fresh[i]
			if k.Alg != alg || k.Seq != 3 || k.State != keys.StateActive {
				t.Errorf("emergency key %+v, want %s seq 3 active", k, alg)
			}
			if got := mustSigner(t, m, alg).ID; got != k.KID {
				t.Errorf("%s signs with %s, want the emergency key %s", alg, got, k.KID)
			}
			if got := jwksKIDs(t, m)[alg]; !slices.Equal(got, []string{k.KID}) {
				t.Errorf("%s JWKS = %v, want only %s", alg, got, k.KID)
			}
		}
		for _, kid := range []string{first.ID, pending[0].KID, pending[1].KID} {
			info := find(t, mustList(t, m), kid)
			if info.State != keys.StateWithdrawn || !info.WithdrawnAt.Equal(c.Now()) {
				t.Errorf("key %+v, want withdrawn now", info)
			}
			if privateEnc(t, db, kid) != nil {
				t.Errorf("withdrawn key %s keeps its private part", kid)
			}
		}
		// Another replica follows at its next refresh.
		if got := jwksKIDs(t, replica)["ES256"]; !slices.Contains(got, first.ID) {
			t.Fatalf("replica before refresh: %v", got)
		}
		if err := replica.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(replica.JSON(), m.JSON()) {
			t.Errorf("replica JWKS after refresh:\n%s\nwant\n%s", replica.JSON(), m.JSON())
		}
		if got := mustSigner(t, replica, "ES256").ID; got != fresh[0].KID {
			t.Errorf("replica signs with %s", got)
		}
	})
}

func TestScheduledRotation(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		mk := newMaster(t)
		opts := options(c)
		opts.RotationPeriod = 30 * 24 * time.Hour
		a := mustOpen(t, db, mk, opts)
		b := mustOpen(t, db, mk, opts)
		c.Advance(opts.RotationPeriod - time.Second)
		for _, m := range []*keys.Manager{a, b} {
			if err := m.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(mustList(t, a)); n != 2 {
			t.Fatalf("rotated early: %d keys", n)
		}
		c.Advance(time.Second)
		errs := make(chan error, 2)
		for _, m := range []*keys.Manager{a, b} {
			go func() { errs <- m.Refresh(ctx) }()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		list := mustList(t, a)
		if len(list) != 4 {
			t.Fatalf("after the rotation period: %+v, want 2 keys per alg", list)
		}
		for _, k := range list {
			if k.Seq == 2 && (k.State != keys.StatePublished || !k.SignsFrom.Equal(c.Now().Add(keys.DefaultMaxTokenLifetime))) {
				t.Errorf("successor %+v, want published, signing after the lead", k)
			}
		}
		if !bytes.Equal(a.JSON(), b.JSON()) {
			t.Error("replicas disagree")
		}
	})
}

func TestRotateMaster(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		oldKey, newKey, stranger := newMaster(t), newMaster(t), newMaster(t)
		running := mustOpen(t, db, oldKey, options(c))
		kid := mustSigner(t, running, "ES256").ID

		before := dump(t, db)
		if _, err := keys.RotateMaster(ctx, db, stranger, newKey); !errors.Is(err, keys.ErrWrongMasterKey) {
			t.Fatalf("RotateMaster with a wrong old key: %v", err)
		}
		if dump(t, db) != before {
			t.Fatal("failed RotateMaster changed the database")
		}

		n, err := keys.RotateMaster(ctx, db, oldKey, newKey)
		if err != nil || n != 1 {
			t.Fatalf("RotateMaster = %d, %v; want 1 data key", n, err)
		}
		after := dump(t, db)
		if n, err := keys.RotateMaster(ctx, db, oldKey, newKey); err != nil || n != 0 {
			t.Fatalf("second RotateMaster = %d, %v; want a no-op", n, err)
		}
		if dump(t, db) != after {
			t.Fatal("second RotateMaster changed the database")
		}

		m := mustOpen(t, db, newKey, options(c))
		if got := mustSigner(t, m, "ES256").ID; got != kid {
			t.Errorf("after re-wrapping, signs with %s, want %s", got, kid)
		}
		if _, err := keys.Open(ctx, db, oldKey, options(c)); !errors.Is(err, keys.ErrWrongMasterKey) {
			t.Errorf("Open with the old master key: %v", err)
		}
		// The replica that loaded its data keys before keeps working,
		// including adding keys.
		if _, err := running.Rotate(ctx, keys.RotateOptions{}); err != nil {
			t.Fatalf("running replica cannot rotate: %v", err)
		}
		if err := m.Refresh(ctx); err != nil {
			t.Fatalf("the new-key replica cannot load the key the old one added: %v", err)
		}
		if !bytes.Equal(m.JSON(), running.JSON()) {
			t.Error("replicas disagree after rotate-master")
		}
	})
}

func TestTamperedCiphertext(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClock()
		mk := newMaster(t)
		m := mustOpen(t, db, mk, options(c))
		if _, err := m.Rotate(ctx, keys.RotateOptions{}); err != nil {
			t.Fatal(err)
		}
		list := mustList(t, m)
		es1, es2, rs1 := list[0].KID, list[1].KID, list[2].KID
		set := func(kid string, enc []byte) {
			t.Helper()
			if _, err := db.Exec(ctx, `UPDATE signing_keys SET private_enc = $1 WHERE kid = $2`, enc, kid); err != nil {
				t.Fatal(err)
			}
		}
		expectCorrupt := func(what, kid string) {
			t.Helper()
			_, err := keys.Open(ctx, db, mk, options(c))
			if !errors.Is(err, keys.ErrCorrupt) || !strings.Contains(err.Error(), kid) {
				t.Errorf("%s: Open = %v, want ErrCorrupt naming %s", what, err, kid)
			}
		}
		orig1, orig2, origRS := privateEnc(t, db, es1), privateEnc(t, db, es2), privateEnc(t, db, rs1)

		flipped := bytes.Clone(orig1)
		flipped[len(flipped)/2] ^= 1
		set(es1, flipped)
		expectCorrupt("flipped byte", es1)
		set(es1, orig1)

		set(es1, orig2)
		set(es2, orig1)
		expectCorrupt("swapped between ES256 keys", es1)
		set(es1, origRS)
		expectCorrupt("RS256 ciphertext in an ES256 row", es1)
		set(es1, orig1)
		set(es2, orig2)

		if _, err := db.Exec(ctx, `UPDATE data_keys SET wrapped = $1`, bytes.Repeat([]byte{1}, 61)); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.Open(ctx, db, mk, options(c)); !errors.Is(err, keys.ErrCorrupt) {
			t.Errorf("tampered data key: Open = %v, want ErrCorrupt", err)
		}
	})
}

func TestRedaction(t *testing.T) {
	db := sqldbtest.SQLite(t)
	mk := newMaster(t)
	m := mustOpen(t, db, mk, options(newClock()))
	sk := mustSigner(t, m, "RS256")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "key", sk, "master", mk)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s %v %#v %+v %v", sk, sk, sk, &sk, mk, mk, *mk, m)
	if !strings.Contains(out, sk.ID) || !strings.Contains(out, mk.ID()) {
		t.Errorf("redacted output lacks the ids: %s", out)
	}
	// A private RSA key's decimal D is hundreds of digits; nothing like it
	// may appear.
	for _, f := range strings.FieldsFunc(out, func(r rune) bool { return r < '0' || r > '9' }) {
		if len(f) > 30 {
			t.Errorf("long number in output: %s", out)
		}
	}
	if len(out) > 1000 {
		t.Errorf("output unexpectedly long: %s", out)
	}
}

// TestRunFollowsOtherProcesses: a key added by another process (as `gosid
// keys rotate` does) reaches a running replica's JWKS within the refresh
// interval, with the real clock.
func TestRunFollowsOtherProcesses(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mk := newMaster(t)
		opts := keys.Options{RefreshInterval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
		replica := mustOpen(t, db, mk, opts)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- replica.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()

		admin := mustOpen(t, db, mk, opts)
		added, err := admin.Rotate(context.Background(), keys.RotateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(string(replica.JSON()), added[1].KID) {
			if time.Now().After(deadline) {
				t.Fatalf("the running replica never published %s", added[1].KID)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got := len(jwksKIDs(t, replica)["ES256"]); got != 2 {
			t.Errorf("replica publishes %d ES256 keys, want 2", got)
		}
	})
}
