package profile_test

import (
	"context"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

var smsChallengeRe = regexp.MustCompile(`name="challenge" value="([^"]+)"`)

// TestSecurityEventsOnTheClock: the sign-in history's entry of a security
// change is stamped by the injected clock, as every other entry is, so
// that the history stays in order whatever clock the server is given.
func TestSecurityEventsOnTheClock(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		a := e.newAccount(t)
		b := e.browser()
		b.SignIn(t, a.ID)
		e.Clock.Advance(2 * time.Minute)
		p := postStep(t, b, "/account/security/sms", nil, "/account/security/sms")
		ch := p.Find(t, smsChallengeRe)
		b.Post(t, "/account/security/sms/confirm", url.Values{"challenge": {ch}, "code": {e.Messages.Code(t, a.Phone.Value)}}).Expect(t, 303, "/account/security/codes")
		if got := e.Account(t, a.ID); got.MFA != account.MFASMS {
			t.Fatalf("second factor %q, want sms", got.MFA)
		}
		evs, err := e.Accounts.Events(context.Background(), a.ID, time.Time{}, 10)
		if err != nil || len(evs) != 1 || evs[0].Kind != "mfa_enabled" || !evs[0].At.Equal(e.Clock.Now()) {
			t.Fatalf("events %+v (%v), want mfa_enabled at %v", evs, err, e.Clock.Now())
		}
	})
}
