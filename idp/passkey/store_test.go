package passkey

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func testCredential(accountID, name string) *Credential {
	return &Credential{ID: randomBytes(32), AccountID: accountID, Name: name, PublicKey: randomBytes(77), SignCount: 5,
		Transports: []string{"internal", "hybrid"}, AAGUID: randomBytes(16), Attachment: "platform", Attestation: "none",
		UserVerified: true, BackupEligible: true, BackupState: true}
}

// TestStore is the store's conformance suite, on SQLite and PostgreSQL.
func TestStore(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		s := e.store
		alice, bob := e.newAccount(t).ID, e.newAccount(t).ID

		t.Run("credentials", func(t *testing.T) {
			c := testCredential(alice, "Ключ доступа 1")
			if err := s.Add(ctx, c, 20); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.ID, c.ID) || got.AccountID != alice || got.Name != c.Name || !bytes.Equal(got.PublicKey, c.PublicKey) ||
				got.SignCount != 5 || fmt.Sprint(got.Transports) != "[internal hybrid]" || !bytes.Equal(got.AAGUID, c.AAGUID) ||
				got.Attachment != "platform" || got.Attestation != "none" || !got.UserVerified || !got.BackupEligible ||
				!got.BackupState || got.CloneWarning || !got.CreatedAt.Equal(t0) || !got.LastUsedAt.IsZero() {
				t.Fatalf("read back %+v, stored %+v", got, c)
			}
			// The same credential ID again, for any account: conflict.
			dup := testCredential(bob, "x")
			dup.ID = c.ID
			if err := s.Add(ctx, dup, 20); !errors.Is(err, sqldb.ErrConflict) {
				t.Fatalf("duplicate ID: %v, want ErrConflict", err)
			}
			e.clock.Advance(time.Second)
			c2 := testCredential(alice, "Ключ доступа 2")
			c2.AAGUID, c2.Transports = nil, nil
			if err := s.Add(ctx, c2, 20); err != nil {
				t.Fatal(err)
			}
			// The limit counts the account's credentials.
			if err := s.Add(ctx, testCredential(alice, "3"), 2); !errors.Is(err, ErrTooMany) {
				t.Fatalf("over the limit: %v, want ErrTooMany", err)
			}
			list, err := s.List(ctx, alice)
			if err != nil || len(list) != 2 || list[0].Name != "Ключ доступа 1" || list[1].Name != "Ключ доступа 2" ||
				list[1].AAGUID != nil || list[1].Transports != nil {
				t.Fatalf("list: %+v, %v", list, err)
			}
			if list, err := s.List(ctx, bob); err != nil || len(list) != 0 {
				t.Fatalf("bob's list: %+v, %v", list, err)
			}
			// Rename and remove only the owner's.
			if err := s.Rename(ctx, bob, c.ID, "чужой"); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("rename another's: %v", err)
			}
			if err := s.Rename(ctx, alice, c.ID, "Телефон"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get(ctx, c.ID); got.Name != "Телефон" {
				t.Fatalf("renamed to %q", got.Name)
			}
			if err := s.Remove(ctx, bob, c.ID); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("remove another's: %v", err)
			}
			if err := s.Remove(ctx, alice, c2.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(ctx, alice, c2.ID); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("remove twice: %v", err)
			}
			if _, err := s.Get(ctx, c2.ID); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("get removed: %v", err)
			}
		})

		t.Run("counter", func(t *testing.T) {
			c := testCredential(alice, "counter")
			if err := s.Add(ctx, c, 0); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Minute)
			if err := s.RecordUse(ctx, c.ID, 6, false); err != nil {
				t.Fatal(err)
			}
			got, _ := s.Get(ctx, c.ID)
			if got.SignCount != 6 || got.BackupState || !got.LastUsedAt.Equal(e.clock.Now()) {
				t.Fatalf("after use: %+v", got)
			}
			for _, n := range []uint32{6, 5, 0} {
				if err := s.RecordUse(ctx, c.ID, n, false); !errors.Is(err, ErrCounter) {
					t.Fatalf("counter %d after 6: %v, want ErrCounter", n, err)
				}
			}
			if err := s.RecordUse(ctx, randomBytes(16), 1, false); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("unknown credential: %v", err)
			}
			// Authenticators without a counter report 0 every time.
			z := testCredential(alice, "zero")
			z.SignCount = 0
			if err := s.Add(ctx, z, 0); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := s.RecordUse(ctx, z.ID, 0, true); err != nil {
					t.Fatalf("zero counter: %v", err)
				}
			}
			// A flagged credential is never used again.
			if err := s.FlagClone(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get(ctx, c.ID); !got.CloneWarning {
				t.Fatal("not flagged")
			}
			if err := s.RecordUse(ctx, c.ID, 100, false); !errors.Is(err, ErrCounter) {
				t.Fatalf("flagged: %v, want ErrCounter", err)
			}
		})

		t.Run("counter race", func(t *testing.T) {
			// Eight replicas verified assertions with the same counter: one
			// wins, the others see a regression.
			c := testCredential(alice, "race")
			if err := s.Add(ctx, c, 0); err != nil {
				t.Fatal(err)
			}
			var ok, lost atomic.Int32
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					switch err := s.RecordUse(ctx, c.ID, 9, false); {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrCounter):
						lost.Add(1)
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if ok.Load() != 1 || lost.Load() != 7 {
				t.Fatalf("%d successes, %d regressions; want 1 and 7", ok.Load(), lost.Load())
			}
		})

		t.Run("challenges", func(t *testing.T) {
			h := randomBytes(32)
			ch := Challenge{Hash: h, Purpose: PurposeRegister, AccountID: alice, SessionData: []byte(`{"challenge":"x"}`),
				ExpiresAt: e.clock.Now().Add(5 * time.Minute)}
			if err := s.SaveChallenge(ctx, ch); err != nil {
				t.Fatal(err)
			}
			// Another purpose does not find it (and does not spend it).
			if _, err := s.ConsumeChallenge(ctx, h, PurposeLogin); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("wrong purpose: %v", err)
			}
			got, err := s.ConsumeChallenge(ctx, h, PurposeRegister)
			if err != nil || got.AccountID != alice || string(got.SessionData) != `{"challenge":"x"}` || !got.ExpiresAt.Equal(ch.ExpiresAt) {
				t.Fatalf("consume: %+v, %v", got, err)
			}
			if _, err := s.ConsumeChallenge(ctx, h, PurposeRegister); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("second use: %v, want ErrNotFound", err)
			}
			// A discoverable sign-in has no account.
			h2 := randomBytes(32)
			if err := s.SaveChallenge(ctx, Challenge{Hash: h2, Purpose: PurposeLogin, SessionData: []byte(`{}`), ExpiresAt: e.clock.Now().Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if got, err := s.ConsumeChallenge(ctx, h2, PurposeLogin); err != nil || got.AccountID != "" {
				t.Fatalf("anonymous: %+v, %v", got, err)
			}
			// Expired: refused and gone.
			h3 := randomBytes(32)
			if err := s.SaveChallenge(ctx, Challenge{Hash: h3, Purpose: PurposeLogin, SessionData: []byte(`{}`), ExpiresAt: e.clock.Now().Add(5 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(5 * time.Minute)
			if _, err := s.ConsumeChallenge(ctx, h3, PurposeLogin); !errors.Is(err, sqldb.ErrExpired) {
				t.Fatalf("expired: %v, want ErrExpired", err)
			}
			if _, err := s.ConsumeChallenge(ctx, h3, PurposeLogin); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("expired, again: %v, want ErrNotFound", err)
			}
		})

		t.Run("single use under concurrency", func(t *testing.T) {
			for round := range 5 {
				h := randomBytes(32)
				if err := s.SaveChallenge(ctx, Challenge{Hash: h, Purpose: PurposeLogin, SessionData: []byte(`{}`),
					ExpiresAt: e.clock.Now().Add(5 * time.Minute)}); err != nil {
					t.Fatal(err)
				}
				var ok, gone atomic.Int32
				var wg sync.WaitGroup
				start := make(chan struct{})
				for range 8 {
					wg.Go(func() {
						<-start
						_, err := s.ConsumeChallenge(ctx, h, PurposeLogin)
						switch {
						case err == nil:
							ok.Add(1)
						case errors.Is(err, sqldb.ErrNotFound):
							gone.Add(1)
						default:
							t.Error(err)
						}
					})
				}
				close(start)
				wg.Wait()
				if ok.Load() != 1 || gone.Load() != 7 {
					t.Fatalf("round %d: %d got the challenge, %d did not; want 1 and 7", round, ok.Load(), gone.Load())
				}
			}
		})

		t.Run("sweep", func(t *testing.T) {
			for i := range 3 {
				if err := s.SaveChallenge(ctx, Challenge{Hash: randomBytes(32), Purpose: PurposeLogin, SessionData: []byte(`{}`),
					ExpiresAt: e.clock.Now().Add(time.Duration(i+1) * time.Minute)}); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(2 * time.Minute)
			if n, err := s.Sweep(ctx); err != nil || n != 2 {
				t.Fatalf("sweep: %d, %v; want 2", n, err)
			}
		})

		t.Run("cascade", func(t *testing.T) {
			carol := e.newAccount(t).ID
			c := testCredential(carol, "gone")
			if err := s.Add(ctx, c, 0); err != nil {
				t.Fatal(err)
			}
			if err := e.accounts.Delete(ctx, carol); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, c.ID); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("credential of a deleted account: %v", err)
			}
		})
	})
}
