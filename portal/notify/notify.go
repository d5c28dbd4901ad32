package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"
)

// Event is what a notice is about: a row of the settings matrix.
type Event string

// Events, in the settings page's order.
const (
	AppReceived      Event = "app.received"      // an application reached the agency
	AppStatus        Event = "app.status"        // any other change of its status
	AppNeedInfo      Event = "app.need_info"     // the agency asks for more information
	AppResult        Event = "app.result"        // approved or refused, with the result
	BookingBooked    Event = "booking.booked"    // booked, moved, checked in, served
	BookingReminder  Event = "booking.reminder"  // a day and two hours before
	BookingCancelled Event = "booking.cancelled" // cancelled, by the citizen or the office
	ChargeNew        Event = "charge.new"        // a new (changed, cancelled) charge
	ChargeDiscount   Event = "charge.discount"   // a fine's discount is ending
	ChargePaid       Event = "charge.paid"       // paid (the receipt), refunded
	SupportAnswer    Event = "support.answer"    // support answered a request
	News             Event = "news"              // news of a subscribed category
)

// Events lists every event in the settings page's order.
var Events = []Event{AppReceived, AppStatus, AppNeedInfo, AppResult, BookingBooked, BookingReminder,
	BookingCancelled, ChargeNew, ChargeDiscount, ChargePaid, SupportAnswer, News}

// Channel is a way a notice reaches the citizen.
type Channel string

// Channels.
const (
	Inbox Channel = "inbox"
	Email Channel = "email"
	SMS   Channel = "sms"
	Push  Channel = "push"
)

// Channels lists every channel in the settings page's order.
var Channels = []Channel{Inbox, Email, SMS, Push}

// Sent lists the channels a notice is sent on (the inbox is where it is
// written).
var Sent = []Channel{Email, SMS, Push}

// smsByDefault are the events texted unless the citizen turns them off:
// what needs action or is bound to a time.
var smsByDefault = []Event{AppNeedInfo, AppResult, BookingReminder, BookingCancelled, ChargeNew}

// Offered reports whether the citizen can choose e on c: the inbox always
// has everything, and news is not texted.
func Offered(e Event, c Channel) bool {
	return c != Inbox && !(e == News && c == SMS)
}

// Default is whether e goes out on c when the citizen has not chosen.
func Default(e Event, c Channel) bool {
	switch c {
	case Inbox, Email, Push:
		return true
	case SMS:
		return slices.Contains(smsByDefault, e)
	}
	return false
}

// Matrix is a citizen's choice of channels per event.
type Matrix map[Event]map[Channel]bool

// Defaults is the matrix of a citizen who never chose.
func Defaults() Matrix {
	m := Matrix{}
	for _, e := range Events {
		m[e] = map[Channel]bool{}
		for _, c := range Channels {
			m[e][c] = Default(e, c) && (c == Inbox || Offered(e, c))
		}
	}
	return m
}

// On reports whether m sends e on c.
func (m Matrix) On(e Event, c Channel) bool {
	if c == Inbox {
		return true
	}
	if !Offered(e, c) {
		return false
	}
	if row, ok := m[e]; ok {
		if on, ok := row[c]; ok {
			return on
		}
	}
	return Default(e, c)
}

// ValidEvent and ValidChannel check names that come from forms and tokens.
func ValidEvent(e Event) bool       { return slices.Contains(Events, e) }
func ValidChannel(c Channel) bool   { return slices.Contains(Channels, c) }
func ValidCategory(c Category) bool { return slices.Contains(Categories, c) }

// Category is a kind of news a citizen may subscribe to.
type Category string

// Categories of news.
const (
	NewServices Category = "new_services" // новые услуги
	Law         Category = "law"          // изменения в законодательстве
	RegionNews  Category = "region"       // новости региона
)

// Categories lists them in the settings page's order.
var Categories = []Category{NewServices, Law, RegionNews}

// Quiet hours: SMS and push wait from QuietFrom to QuietTo, local time.
const (
	QuietFrom = 22
	QuietTo   = 8
)

// Quiet reports whether now falls in the quiet hours of loc, and when they
// end (08:00 local).
func Quiet(now time.Time, loc *time.Location) (until time.Time, quiet bool) {
	t := now.In(loc)
	h := t.Hour()
	if h >= QuietTo && h < QuietFrom {
		return time.Time{}, false
	}
	day := t
	if h >= QuietFrom {
		day = t.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), QuietTo, 0, 0, 0, loc), true
}

// Waits reports whether channel c keeps quiet hours.
func Waits(c Channel) bool { return c == SMS || c == Push }

// Zones are the time zones a citizen picks from: Russia's eleven.
var Zones = []string{"Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg",
	"Asia/Omsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan",
	"Asia/Kamchatka"}

// DefaultZone is the zone of a citizen who never chose.
const DefaultZone = "Europe/Moscow"

// Zone loads a zone of Zones; anything else is Moscow.
func Zone(name string) *time.Location {
	if !slices.Contains(Zones, name) {
		name = DefaultZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("MSK", 3*60*60)
	}
	return loc
}

// Unsubscribe is what an unsubscribe token undoes: a category of news, or
// one event on one channel (the link in a notice's e-mail).
type Unsubscribe struct {
	Subject  string
	Category Category // news of this category; or
	Event    Event    // this event on Channel
	Channel  Channel
}

// ErrBadToken: an unsubscribe token that is malformed or not ours.
var ErrBadToken = errors.New("notify: bad unsubscribe token")

const tokenMAC = 16 // bytes of HMAC-SHA-256 kept: 128 bits

// what is the signed part after the subject.
func (u Unsubscribe) what() string {
	if u.Category != "" {
		return "c:" + string(u.Category)
	}
	return "e:" + string(u.Event) + ":" + string(u.Channel)
}

// Token signs u with key: base64url(subject "|" what "|" mac). It does not
// expire: an old e-mail's link must still work, and it can only turn
// messages off.
func Token(key []byte, u Unsubscribe) string {
	body := u.Subject + "|" + u.what()
	return base64.RawURLEncoding.EncodeToString([]byte(body + "|" + string(mac(key, body))))
}

func mac(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("gosid portal unsubscribe|" + body))
	return m.Sum(nil)[:tokenMAC]
}

// ParseToken checks a token's signature (in constant time) and returns
// what it unsubscribes from.
func ParseToken(key []byte, token string) (Unsubscribe, error) {
	// One spelling per token: Strict refuses non-zero padding bits, and
	// the decoder would skip \r and \n, which the alphabet check refuses.
	if len(token) > 512 || strings.ContainsFunc(token, func(r rune) bool {
		return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_')
	}) {
		return Unsubscribe{}, ErrBadToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) < tokenMAC+2 {
		return Unsubscribe{}, ErrBadToken
	}
	body, sig := string(raw[:len(raw)-tokenMAC-1]), raw[len(raw)-tokenMAC:]
	if raw[len(raw)-tokenMAC-1] != '|' || !hmac.Equal(sig, mac(key, body)) {
		return Unsubscribe{}, ErrBadToken
	}
	subject, what, ok := strings.Cut(body, "|")
	if !ok || subject == "" {
		return Unsubscribe{}, ErrBadToken
	}
	u := Unsubscribe{Subject: subject}
	switch {
	case strings.HasPrefix(what, "c:"):
		u.Category = Category(what[2:])
		if !ValidCategory(u.Category) {
			return Unsubscribe{}, ErrBadToken
		}
	case strings.HasPrefix(what, "e:"):
		e, c, ok := strings.Cut(what[2:], ":")
		u.Event, u.Channel = Event(e), Channel(c)
		if !ok || !ValidEvent(u.Event) || !Offered(u.Event, u.Channel) {
			return Unsubscribe{}, ErrBadToken
		}
	default:
		return Unsubscribe{}, ErrBadToken
	}
	return u, nil
}
