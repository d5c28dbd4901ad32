// Package notify is the portal's notification model: which events a
// citizen is told of on which channels, their subscriptions to news, quiet
// hours, one-click unsubscribe tokens, and the delivery status of every
// notice on every channel. The portal (portal/notices.go) writes notices
// and runs their delivery jobs; this package decides and keeps the books.
//
// Events × channels. Every notice is of one Event (an application's status
// change, a booking's reminder, a new charge, a support answer, news of a
// subscribed category). Channels are the inbox in the portal, e-mail, SMS
// and web push. Defaults follow Госуслуги: everything reaches the inbox
// (not switchable: it is the record), e-mail and push, and SMS only what
// needs action or is time-bound (more information requested, a result, a
// visit's reminder or cancellation, a new charge). A citizen's choices are
// stored as the cells that differ from the default, so changing a default
// reaches everyone who never touched that cell. The identity provider's
// security messages (a new sign-in, a password change) are not here: they
// are the identity provider's and stay out of the citizen's control.
//
// Quiet hours: SMS and push wait from 22:00 to 08:00 in the citizen's
// time zone (Moscow until they choose), unless the notice is urgent (a
// visit cancelled by the office). E-mail and the inbox do not wait.
//
// Delivery: one row per notice and channel (portal_deliveries). The job
// that sends it first writes "sending" with the attempt number and
// commits, then calls the gateway with the notice's dedupe key, then
// writes "sent". A retry after a crash between the call and the commit
// sends again with the same key, which the gateway uses to drop the
// duplicate; a row already final is not sent again, whatever runs twice.
// Statuses:
//
//	pending     waiting for its job
//	deferred    quiet hours: sent at Until
//	sending     a gateway call is (or was, before a crash) under way
//	sent        the gateway accepted it
//	failed      every attempt failed (the inbox still has the notice)
//	off         the citizen turned this event off on this channel
//	no_contact  no phone, e-mail or push subscription to send to
//	limited     over the citizen's per-channel limit: not sent
//	skipped     a newer notice of the same booking made it moot
//
// Unsubscribe tokens are HMAC-signed (subject, what): a category of news
// or an event on e-mail. They work without signing in (the link in every
// e-mail, and RFC 8058's one-click POST that mail providers send).
package notify
