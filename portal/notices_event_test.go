package portal

import (
	"testing"

	"github.com/gosid/gosid/portal/applications"
	"github.com/gosid/gosid/portal/appointments"
	"github.com/gosid/gosid/portal/notify"
	"github.com/gosid/gosid/portal/payments"
)

// TestNoticeEvent: every notice the portal writes lands on its row of the
// settings matrix — each of the twelve events is reached, by the kinds and
// statuses the writers use (applications' statuses, bookings' changes and
// marks, charges' events, support's answers, news).
func TestNoticeEvent(t *testing.T) {
	for _, tc := range []struct {
		n    notice
		want notify.Event
	}{
		{notice{Kind: noticeApplication, Status: string(applications.Received)}, notify.AppReceived},
		{notice{Kind: noticeApplication, Status: string(applications.InReview)}, notify.AppStatus},
		{notice{Kind: noticeApplication, Status: string(applications.Cancelled)}, notify.AppStatus},
		{notice{Kind: noticeApplication, Status: string(applications.InfoRequested)}, notify.AppNeedInfo},
		{notice{Kind: noticeApplication, Status: string(applications.Approved)}, notify.AppResult},
		{notice{Kind: noticeApplication, Status: string(applications.Refused)}, notify.AppResult},
		{notice{Kind: noticeBooking, Status: string(appointments.ChangeBooked)}, notify.BookingBooked},
		{notice{Kind: noticeBooking, Status: string(appointments.ChangeRescheduled)}, notify.BookingBooked},
		{notice{Kind: noticeBooking, Status: string(appointments.Arrived)}, notify.BookingBooked},
		{notice{Kind: noticeBooking, Status: string(appointments.Served)}, notify.BookingBooked},
		{notice{Kind: noticeBooking, Status: "reminder"}, notify.BookingReminder},
		{notice{Kind: noticeBooking, Status: string(appointments.ChangeCancelled)}, notify.BookingCancelled},
		{notice{Kind: noticeBooking, Status: "closure"}, notify.BookingCancelled},
		{notice{Kind: noticeCharge, Status: "new"}, notify.ChargeNew},
		{notice{Kind: noticeCharge, Status: string(payments.ChargeChanged)}, notify.ChargeNew},
		{notice{Kind: noticeCharge, Status: string(payments.ChargeCancelled)}, notify.ChargeNew},
		{notice{Kind: noticeCharge, Status: "discount"}, notify.ChargeDiscount},
		{notice{Kind: noticeCharge, Status: string(payments.ChargePaid)}, notify.ChargePaid},
		{notice{Kind: noticeCharge, Status: string(payments.ChargeRefunded)}, notify.ChargePaid},
		{notice{Kind: noticeSupport, Status: "answered"}, notify.SupportAnswer},
		{notice{Kind: noticeNews}, notify.News},
		{notice{Kind: noticeApplication, Status: string(applications.Received), Event: notify.News}, notify.News}, // named outright
	} {
		if got := tc.n.event(); got != tc.want {
			t.Errorf("%s %q: event %s, want %s", tc.n.Kind, tc.n.Status, got, tc.want)
		}
	}
	// Every event of the settings page is some notice's.
	reached := map[notify.Event]bool{}
	for _, k := range noticeKinds {
		for _, st := range []string{"", "received", "info_requested", "approved", "in_review", "reminder", "closure", "discount", "paid", "new"} {
			reached[notice{Kind: k, Status: st}.event()] = true
		}
	}
	for _, e := range notify.Events {
		if !reached[e] {
			t.Errorf("no notice reaches the event %s", e)
		}
	}
	if len(reached) != len(notify.Events) {
		t.Errorf("notices reach %d events, the settings page has %d", len(reached), len(notify.Events))
	}
}
