package message

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
)

// Channel is the way a message travels.
type Channel string

const (
	SMS   Channel = "sms"
	Email Channel = "email"
)

// Message is one SMS or e-mail to send, already rendered by the module
// that owns its texts (idp/notice renders the identity provider's).
type Message struct {
	Channel Channel
	// To is an E.164 phone number (+79991234567) for SMS, a bare e-mail
	// address for e-mail.
	To string
	// Kind names what the message is ("code.register", "notice.locked"),
	// for logs, the development sink's filter and gateway body templates;
	// it carries no content.
	Kind string
	// Lang is the language the texts are in ("ru" or "en").
	Lang string
	// Subject is an e-mail's subject line.
	Subject string
	// Text is the SMS, or the e-mail's plain-text part. It may hold a
	// one-time code, so it never reaches a log (but for the development
	// sink's).
	Text string
	// HTML is the e-mail's HTML part.
	HTML string
	// Attachments go with an e-mail (a receipt, a ticket); SMS ignore them.
	Attachments []Attachment
	// Key, when set, is the message's dedupe key: the same key is the same
	// message, sent again only because a retry could not know whether the
	// first call got through. The SMS gateway receives it as the
	// Idempotency-Key header (and as .Key in its body template) and drops
	// a repeat; an e-mail's Message-ID is derived from it, which receiving
	// systems use to drop a duplicate. It must not reveal the content.
	Key string
	// Unsubscribe, when set, is an e-mail's one-click unsubscribe URL
	// (List-Unsubscribe with List-Unsubscribe-Post, RFC 8058): an HTTPS URL
	// that unsubscribes on a POST, no sign-in needed.
	Unsubscribe string
}

// Attachment is a file attached to an e-mail.
type Attachment struct {
	Name        string // a plain file name, e.g. "receipt.pdf"
	ContentType string
	Data        []byte
}

// LogValue shows the channel, the kind and a masked recipient; never the
// texts.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("channel", string(m.Channel)),
		slog.String("kind", m.Kind),
		slog.String("to", Mask(m.To)),
	)
}

// Sender delivers one message. Implementations must be safe for concurrent
// use. Errors never contain the message text, its data or the recipient.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrChannelUnavailable: no sender is configured for the message's channel.
var ErrChannelUnavailable = errors.New("message channel unavailable")

// ErrBadRecipient: Message.To is not an E.164 phone number (SMS) or a bare
// e-mail address (e-mail).
var ErrBadRecipient = errors.New("bad message recipient")

// validate checks the channel and the recipient's form. The error names
// neither the recipient nor the data.
func (m Message) validate() error {
	switch m.Channel {
	case SMS:
		if !isE164(m.To) {
			return fmt.Errorf("%w: not an E.164 phone number", ErrBadRecipient)
		}
	case Email:
		a, err := mail.ParseAddress(m.To)
		if err != nil || a.Address != m.To || a.Name != "" {
			return fmt.Errorf("%w: not a bare e-mail address", ErrBadRecipient)
		}
	default:
		return fmt.Errorf("%w: %q", ErrChannelUnavailable, m.Channel)
	}
	if m.Text == "" || m.Channel == Email && (m.Subject == "" || m.HTML == "") {
		return errors.New("message not rendered: empty text")
	}
	return nil
}

// isE164 reports whether s is "+" and 8 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Mask hides most of a phone number or e-mail address for logs:
// "+7*******67", "i***@example.ru".
func Mask(to string) string {
	if to == "" {
		return ""
	}
	if local, domain, ok := strings.Cut(to, "@"); ok {
		first := ""
		if r := []rune(local); len(r) > 1 {
			first = string(r[0])
		}
		return first + "***@" + domain
	}
	r := []rune(to)
	if len(r) <= 4 {
		return "***"
	}
	keep := 2
	prefix := 0
	if r[0] == '+' {
		prefix = 2 // "+7"; enough to tell countries apart
	}
	return string(r[:prefix]) + strings.Repeat("*", len(r)-prefix-keep) + string(r[len(r)-keep:])
}

// Secret is a configuration value that must not be printed or logged: an
// SMTP password, an SMS gateway's token. Its String, GoString, LogValue and
// MarshalText show "[REDACTED]" (or nothing when empty); convert to string to
// use it.
type Secret string

const redacted = "[REDACTED]"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `message.Secret("` + s.String() + `")` }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret in JSON, YAML and other encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// normLang is "en" for any English tag and "ru" otherwise.
func normLang(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "en") {
		return "en"
	}
	return "ru"
}
