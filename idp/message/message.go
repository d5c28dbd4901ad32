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

// Message kinds: each names a template (see templates/).
const (
	// KindCodeRegister carries the one-time code that confirms the phone or
	// e-mail given at registration. Data: code, minutes.
	KindCodeRegister = "code.register"
	// KindCodeRecover carries the password-recovery code. Data: code, minutes.
	KindCodeRecover = "code.recover"
	// KindCodeContact carries the code that confirms a new phone or e-mail
	// added to an account. Data: code, minutes.
	KindCodeContact = "code.contact"
	// KindCodeLogin is the second factor of a password sign-in by SMS.
	KindCodeLogin = "code.login"
	// KindNoticeLocked says that password sign-in is locked after failed
	// attempts. Data: minutes.
	KindNoticeLocked = "notice.locked"
	// KindNoticePasswordChanged says that the password was changed or
	// recovered and the other sessions were ended. No data.
	KindNoticePasswordChanged = "notice.password_changed"
	// KindNoticeRegisterExisting goes to a phone or e-mail that already has an
	// account when someone tries to register with it. It carries no code, so
	// that registration answers the same whether or not the contact is known.
	// No data.
	KindNoticeRegisterExisting = "notice.register_existing"
	// KindNoticeNewDevice reports a sign-in from a device not seen before.
	// Data: time (formatted by the caller, e.g. "02.01.2006 15:04 МСК"), ip,
	// device (a short description such as "Firefox, Windows").
	KindNoticeNewDevice = "notice.new_device"
	// KindNoticeBackupCodeUsed tells the owner a backup code was used.
	KindNoticeBackupCodeUsed = "notice.backup_code_used"
	// KindNoticeContactChanged goes to the previous phone or e-mail when it
	// is replaced. Data: field ("phone" or "email"), value (the new
	// contact, masked), link (the «Это был не я» page that undoes the
	// change) and days (how long the link works).
	KindNoticeContactChanged = "notice.contact_changed"
	// KindNoticeDeletionRequested confirms a requested account deletion.
	// Data: date (when the data will be erased).
	KindNoticeDeletionRequested = "notice.deletion_requested"
	// KindNoticeDeletionCancelled says a sign-in cancelled the deletion.
	KindNoticeDeletionCancelled = "notice.deletion_cancelled"
	// KindNoticeSNILSClaimDropped says the SNILS typed into the account was
	// removed because its holder proved it on another account (with a
	// qualified e-signature certificate). No data.
	KindNoticeSNILSClaimDropped = "notice.snils_claim_dropped"
)

// kinds lists every kind with the Data keys its templates need.
var kinds = map[string][]string{
	KindCodeRegister:            {"code", "minutes"},
	KindCodeRecover:             {"code", "minutes"},
	KindCodeContact:             {"code", "minutes"},
	KindCodeLogin:               {"code", "minutes"},
	KindNoticeBackupCodeUsed:    {"remaining"},
	KindNoticeLocked:            {"minutes"},
	KindNoticePasswordChanged:   nil,
	KindNoticeRegisterExisting:  nil,
	KindNoticeNewDevice:         {"time", "ip", "device"},
	KindNoticeSNILSClaimDropped: nil,
	KindNoticeContactChanged:    {"field", "value", "link", "days"},
	KindNoticeDeletionRequested: {"date"},
	KindNoticeDeletionCancelled: nil,
}

// Message is one SMS or e-mail to send.
type Message struct {
	Channel Channel
	// To is an E.164 phone number (+79991234567) for SMS, a bare e-mail
	// address for e-mail.
	To string
	// Kind is a template name: one of the Kind constants.
	Kind string
	// Lang is "ru" (the default) or "en"; anything starting with "en"
	// selects English, anything else Russian.
	Lang string
	// Data holds the template values. It may hold a one-time code, so it
	// never reaches a log.
	Data map[string]string
}

// LogValue shows the channel, the kind and a masked recipient; never Data.
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
	if _, ok := kinds[m.Kind]; !ok {
		return fmt.Errorf("unknown message kind %q", m.Kind)
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
