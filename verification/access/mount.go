package access

import (
	"time"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/jobs"
)

// Mount serves the pages on the identity provider i, the staff's behind
// gate, records issued codes in reports (nil: nowhere), and schedules the
// sweep of old codes.
func Mount(i *idp.IdP, gate *staff.Gate, reports Recorder) error {
	store := NewStore(i.DB, i.Activity, i.Keys, i.Now)
	store.Reports = reports
	rec := i.Recovery
	h, err := New(Deps{Store: store, Gate: gate, Accounts: i.Accounts, Activity: i.Activity, Flows: i.Flows, Codes: rec.Codes,
		Passwords: rec.Passwords, Policy: rec.Policy, EndAll: rec.EndAll, Forget: rec.Forget, Notifier: i.Notifier,
		Limiter: i.Limiter, Log: i.Log, Now: i.Now})
	if err != nil {
		return err
	}
	i.Mount(h.Routes)
	return i.Jobs.AddPeriodic(jobs.Periodic{Name: "access.sweep", Every: time.Hour, Run: store.Sweep})
}
