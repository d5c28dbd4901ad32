package notice

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gosid/gosid/internal/message"
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
	// KindNoticeVerificationDone says the registries confirmed the SNILS
	// and passport (verification/check). No data.
	KindNoticeVerificationDone = "notice.verification_done"
	// KindNoticeVerificationFailed says a registry check ended without
	// confirmation; the account centre says why. No data.
	KindNoticeVerificationFailed = "notice.verification_failed"
	// KindNoticeLevelLowered says the level fell because the registry
	// reports the verified passport invalid. No data.
	KindNoticeLevelLowered = "notice.level_lowered"
	// KindNoticePartnerConfirmed says that a bank confirmed the citizen's
	// identity through the partner API, with a one-use link to dispute it.
	// Data: bank (its name), date (ДД.ММ.ГГГГ), time (ЧЧ:ММ, Moscow), link,
	// days (how long the link works).
	KindNoticePartnerConfirmed = "notice.partner_confirmed"
	// KindNoticeActivate carries the activation link (a one-use token) of an
	// account a bank registered: the citizen sets a password there. Data:
	// bank, link (the activation page with the token), days.
	KindNoticeActivate = "notice.activate"
	// KindNoticeLetterConfirmed says that the code of a registered letter
	// confirmed the citizen's identity. Data: date (ДД.ММ.ГГГГ).
	KindNoticeLetterConfirmed = "notice.letter_confirmed"
	// KindNoticeDeskConfirmed says an operator confirmed the citizen's
	// identity at an office (verification/desk). Data: office (its name).
	KindNoticeDeskConfirmed = "notice.desk_confirmed"
	// KindNoticeDeskRefused says an operator refused to confirm the
	// identity at an office. Data: office, reason (the reason's words).
	KindNoticeDeskRefused = "notice.desk_refused"
)

// kinds lists every kind with the Data keys its templates need.
var kinds = map[string][]string{
	KindCodeRegister:             {"code", "minutes"},
	KindCodeRecover:              {"code", "minutes"},
	KindCodeContact:              {"code", "minutes"},
	KindCodeLogin:                {"code", "minutes"},
	KindNoticeBackupCodeUsed:     {"remaining"},
	KindNoticeLocked:             {"minutes"},
	KindNoticePasswordChanged:    nil,
	KindNoticeRegisterExisting:   nil,
	KindNoticeNewDevice:          {"time", "ip", "device"},
	KindNoticeSNILSClaimDropped:  nil,
	KindNoticeContactChanged:     {"field", "value", "link", "days"},
	KindNoticeDeletionRequested:  {"date"},
	KindNoticeDeletionCancelled:  nil,
	KindNoticeVerificationDone:   nil,
	KindNoticeVerificationFailed: nil,
	KindNoticeLevelLowered:       nil,
	KindNoticePartnerConfirmed:   {"bank", "date", "time", "link", "days"},
	KindNoticeActivate:           {"bank", "link", "days"},
	KindNoticeLetterConfirmed:    {"date"},
	KindNoticeDeskConfirmed:      {"office"},
	KindNoticeDeskRefused:        {"office", "reason"},
}

// Message is one of the identity provider's messages before rendering: the
// kind (a template), its language and data, and where it goes.
type Message struct {
	Channel message.Channel
	// To is an E.164 phone number for SMS, a bare e-mail address for e-mail.
	To   string
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
		slog.String("to", message.Mask(m.To)),
	)
}

// Sender sends the identity provider's messages: *Outbox renders them and
// hands them to an internal/message sender.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Outbox renders messages with the templates and sends them through Out
// (SMTP, the SMS gateway, the development sink, or a Route of them).
type Outbox struct {
	Templates *Templates
	Out       message.Sender
}

// Send renders m and sends it. The error names the step, never the text.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	r, err := o.Templates.Render(m)
	if err != nil {
		return fmt.Errorf("message %s: %w", m.Kind, err)
	}
	return o.Out.Send(ctx, r)
}
