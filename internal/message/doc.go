// Package message sends already-rendered SMS and e-mails for every module:
// the identity provider's one-time codes and notices (rendered by
// idp/notice from its templates), later the portal's notifications. Each
// module owns its texts; this package only delivers them.
//
// A Message carries the channel, the recipient, the kind (a label for logs,
// the development sink's filter and gateway body templates), the language
// and the texts. The senders are
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
// Nothing here logs a message's text, except DevSink. A Message logs as its
// channel, kind and a masked recipient; configuration secrets are of type
// Secret, which prints as "[REDACTED]"; errors name the failed step, never
// the text, the code or the recipient.
package message
