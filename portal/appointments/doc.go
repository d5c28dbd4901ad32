// Package appointments books citizens' visits to service centres (МФЦ),
// agency offices and clinics, and never books a seat twice.
//
// Model. A Place has a time zone (IANA; Russia has eleven), weekly opening
// intervals in local minutes (a lunch break is the gap between two
// intervals), dated exceptions (holidays: no hours; short days: other
// hours) and exceptional closures announced by the agency (Close, or
// CloseResource for a doctor fallen ill). A Resource of a place (a window,
// a desk, a doctor with a specialty) serves some catalogue services on a
// grid of Step minutes with Capacity seats per grid cell. A service takes
// a Duration at a place (SetDuration; a multiple of the step; default one
// step), so a slot may cover several cells.
//
// Slots are computed, not stored: Free and Days read the place, its
// resources, closures and the seats taken in the range (one query for all
// claims), then walk the grid in Go. A slot starts on a cell of an opening
// interval and ends within the same interval, after now+Lead and before
// now+Horizon, outside any closure, with a free seat in every cell.
//
// No double booking. Booking inserts one claim row per grid cell the
// visit covers, on the first seat 0..Capacity-1 free in that cell, with
// INSERT … ON CONFLICT DO NOTHING; the claims' primary key (resource,
// cell, seat) is the guarantee, on any number of replicas and on both
// SQLite and PostgreSQL. A cell without a free seat rolls the whole
// transaction back: ErrSlotTaken. Cancelling and rescheduling delete the
// booking's claims in the transaction that changes it. At most one active
// booking per citizen and service is a partial unique index
// (ErrActiveExists). A booking and a closure racing each other serialise
// on the resource row, which both update first, so a closure never leaves
// a booking inside it behind.
//
// Statuses:
//
//	booked     Записан: active; the citizen may reschedule or cancel until CutOff before the start
//	cancelled  Отменена: by the citizen, or by a closure (CancelReason)
//	arrived    Пришёл: marked by an officer on the day
//	served     Обслужен
//	no_show    Не явился
//
// Changing a place's hours or holidays changes the slots offered from then
// on; bookings already made outside the new hours stay (announce a closure
// to cancel them). A resource's step cannot change while it has upcoming
// bookings, since claims are keyed by grid cell.
//
// Every change is a compare-and-swap on the booking's version
// (ErrConflict when stale) and runs OnChange in its transaction, so that
// reminders (24 h and 2 h before) and notices are enqueued exactly when the
// change commits. Another citizen's booking is ErrNotFound, not forbidden.
package appointments
