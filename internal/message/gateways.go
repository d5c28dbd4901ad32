package message

import (
	"log/slog"
	"strings"

	"github.com/gosid/gosid/internal/sqldb"
)

// Gateways are the message gateways an operator configured. With neither,
// messages go to the development sink (which shows one-time codes to
// whoever reaches the server: the caller allows that only locally).
type Gateways struct {
	SMTP SMTPConfig
	SMS  HTTPSMSConfig
}

// Development reports whether no gateway is configured.
func (g Gateways) Development() bool { return g.SMTP.Addr == "" && g.SMS.URL == "" }

// Validate reports each problem with the configured gateways to problem,
// naming the option as the command line does (smtp-addr, sms-gateway-url),
// by building the senders, which connect to nothing.
func (g Gateways) Validate(problem func(option, message string)) {
	if g.SMTP.Addr != "" {
		if _, err := NewSMTP(g.SMTP, slog.New(slog.DiscardHandler)); err != nil {
			problem("smtp-addr", strings.TrimPrefix(err.Error(), "smtp: "))
		}
	}
	if g.SMS.URL != "" {
		if _, err := NewHTTPSMS(g.SMS, slog.New(slog.DiscardHandler), nil); err != nil {
			problem("sms-gateway-url", err.Error())
		}
	}
}

// Open returns the sender of every message: the development sink (also
// returned, to be served at /dev/messages) when no gateway is configured,
// else SMTP for e-mail and the HTTP gateway for SMS, as configured.
func Open(g Gateways, db *sqldb.DB, log *slog.Logger) (Sender, *DevSink, error) {
	if g.Development() {
		sink := NewDevSink(db, log)
		return sink, sink, nil
	}
	route := Route{}
	var err error
	if g.SMTP.Addr != "" {
		if route.Email, err = NewSMTP(g.SMTP, log); err != nil {
			return nil, nil, err
		}
	}
	if g.SMS.URL != "" {
		if route.SMS, err = NewHTTPSMS(g.SMS, log, nil); err != nil {
			return nil, nil, err
		}
	}
	return route, nil, nil
}
