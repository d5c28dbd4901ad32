package overload

import (
	"context"
	"testing"
	"time"
)

// TestRank: a request's place in a queue is the earliest of its client's
// first refusal (WithQueued), its arrival (WithArrival) and now.
func TestRank(t *testing.T) {
	now := time.Now()
	arrived := now.Add(-time.Second)
	refused := now.Add(-10 * time.Second)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want time.Time
	}{
		{"nothing recorded", context.Background(), now},
		{"arrived", WithArrival(context.Background(), arrived), arrived},
		{"refused before it arrived", WithQueued(WithArrival(context.Background(), arrived), refused), refused},
		{"a ticket later than the arrival", WithQueued(WithArrival(context.Background(), arrived), now.Add(-time.Millisecond)), arrived},
		{"a ticket from the future", WithQueued(context.Background(), now.Add(time.Hour)), now},
		{"an old ticket moves up by MaxQueuedAdvance at most", WithQueued(WithArrival(context.Background(), arrived), now.Add(-5*time.Minute)), arrived.Add(-MaxQueuedAdvance)},
		{"an old ticket without an arrival", WithQueued(context.Background(), now.Add(-5*time.Minute)), now.Add(-MaxQueuedAdvance)},
	} {
		if got := Rank(tc.ctx, now); !got.Equal(tc.want) {
			t.Errorf("%s: rank %s, want %s", tc.name, got, tc.want)
		}
	}
	if !Queued(context.Background()).IsZero() || !Queued(WithQueued(context.Background(), refused)).Equal(refused) {
		t.Error("Queued does not give back what WithQueued recorded")
	}
}
