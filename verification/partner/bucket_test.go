package partner

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestBucketRace: 50 calls of one partner at once against a bucket of 10
// get exactly 10 tokens, on both dialects; another partner has its own;
// the refill gives one more after 1/rate, and the wait says so.
func TestBucketRace(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(time.Now())
		b := bucket{db: db, rate: 2, burst: 10, now: clock.Now}
		var got atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, _, err := b.take(ctx, "sber")
				if err != nil {
					t.Error(err)
				}
				if ok {
					got.Add(1)
				}
			}()
		}
		wg.Wait()
		if got.Load() != 10 {
			t.Fatalf("%d tokens taken from a bucket of 10", got.Load())
		}
		ok, wait, err := b.take(ctx, "sber")
		if ok || err != nil || wait <= 0 || wait > 500*time.Millisecond {
			t.Fatalf("empty bucket: %v %v %v, want a wait of at most 0.5 s", ok, wait, err)
		}
		if ok, _, err := b.take(ctx, "tbank"); !ok || err != nil {
			t.Fatalf("another partner: %v %v", ok, err)
		}
		clock.Advance(wait)
		if ok, _, err := b.take(ctx, "sber"); !ok || err != nil {
			t.Fatalf("after the wait: %v %v", ok, err)
		}
		if ok, _, _ := b.take(ctx, "sber"); ok {
			t.Fatal("a second token after one refill")
		}
	})
}
