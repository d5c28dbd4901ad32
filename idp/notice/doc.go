// Package notice is the identity provider's messages: the one-time codes
// (registration, recovery, a new contact, the SMS second factor) and the
// notices of security events (lock-outs, password changes, a new device,
// attempts to register a contact again, a contact change with its «Это был
// не я» link). Their Russian and English texts live in templates/, are
// parsed and test-rendered by LoadTemplates at start-up, and are rendered
// by Templates.Render; Outbox renders a Message and hands the result to an
// internal/message sender. The texts carry the code and generic facts
// only; the notice to a contact that already has an account carries no
// code.
//
// Notifier tells an account's owner, on the verified phone by SMS and the
// verified e-mail, whichever the account has. A failure to send is logged,
// never shown to the person who caused the event, and never stops the flow
// that raised it.
package notice
