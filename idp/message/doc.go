// Package message sends the SMS and e-mails of sign-in and account security:
// one-time codes (registration, password recovery, a new contact) and
// notices (password sign-in locked, password changed, a registration attempt
// on a known contact, a sign-in from a new device).
//
// Callers build a Message (channel, recipient, kind, language, data) and
// hand it to a Sender. The senders are
//
//	DevSink  stores the text in dev_messages and logs it; the dev page
//	         (DevSink.Handler: GET /dev/messages, GET /dev/messages.json)
//	         shows it. Dev mode on loopback only: it is the one sender that
//	         shows codes.
//	SMTP     e-mail through a submission server (STARTTLS or implicit TLS,
//	         AUTH PLAIN/LOGIN), multipart/alternative text and HTML.
//	HTTPSMS  SMS through an HTTP gateway with a configurable JSON body.
//	Route    picks the SMS or e-mail sender by channel.
//
// Texts live in templates/ (Russian and English), are parsed by
// LoadTemplates at start-up and rendered by Templates.Render. They carry
// the code and generic facts only; the notice to a contact that already has
// an account carries no code.
//
// Nothing here logs a message's text or data, except DevSink. A Message logs
// as its channel, kind and a masked recipient; configuration secrets are of
// type Secret, which prints as "[REDACTED]"; errors name the failed step,
// never the text, the code or the recipient.
package message
