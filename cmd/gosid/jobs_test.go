package main

import (
	"context"
	"testing"
	"time"

	"github.com/gosid/gosid/idp"
)

// deliverLogouts starts the IdP's job queue, as serve does (again is a
// no-op), and waits until the site has received want back-channel logouts
// (received counts them), and a moment more to catch one sent twice.
func deliverLogouts(t *testing.T, parts *idp.IdP, want int, received func() int) {
	t.Helper()
	if err := parts.Jobs.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = parts.Jobs.Stop(ctx)
	})
	deadline := time.Now().Add(20 * time.Second)
	for received() < want {
		if time.Now().After(deadline) {
			t.Fatalf("the site received %d back-channel logouts within 20 s, want %d", received(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := received(); n != want {
		t.Fatalf("the site received %d back-channel logouts, want %d", n, want)
	}
}
