package idptest

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/message"
)

// Messages is the identity provider's outgoing mail as production wires
// it (notice.Outbox: the real templates, then a sender), with the
// development sink as the sender. It is a notice.Sender (codes) and a
// notifier (Account, Contact: the owner's notices, as notice.Notifier). It
// also remembers what it was given before rendering, so that a test can
// look at a notice's data (a link) or at who was notified.
type Messages struct {
	Sink     *message.DevSink
	out      *notice.Outbox
	notifier *notice.Notifier

	mu      sync.Mutex
	sent    []notice.Message
	notices []Notice
	refuse  error
}

// Notice is one notice to an account's owner or to a contact.
type Notice struct {
	AccountID string // "" for a notice to a bare contact
	To        string // the contact, for a notice to a bare contact
	Kind      string
	Data      map[string]string
}

func newMessages(sink *message.DevSink, tmpl *notice.Templates, log *slog.Logger) *Messages {
	m := &Messages{Sink: sink, out: &notice.Outbox{Templates: tmpl, Out: sink}}
	m.notifier = &notice.Notifier{Sender: m, Log: log}
	return m
}

// Send renders msg and stores it in the development sink, or, while the
// gateway refuses (Refuse), returns the gateway's error and keeps nothing.
func (m *Messages) Send(ctx context.Context, msg notice.Message) error {
	m.mu.Lock()
	if err := m.refuse; err != nil {
		m.mu.Unlock()
		return err
	}
	m.sent = append(m.sent, msg)
	m.mu.Unlock()
	return m.out.Send(ctx, msg)
}

// Refuse makes the gateway refuse every message with err until it is
// called with nil, as an SMS gateway answers a rejected request.
func (m *Messages) Refuse(err error) {
	m.mu.Lock()
	m.refuse = err
	m.mu.Unlock()
}

// Account notifies the owner of a on every verified contact.
func (m *Messages) Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string) {
	m.mu.Lock()
	m.notices = append(m.notices, Notice{AccountID: a.ID, Kind: kind, Data: data})
	m.mu.Unlock()
	m.notifier.Account(ctx, a, kind, lang, data)
}

// Contact notifies one phone or e-mail.
func (m *Messages) Contact(ctx context.Context, contactKind, to, kind, lang string, data map[string]string) {
	m.mu.Lock()
	m.notices = append(m.notices, Notice{To: to, Kind: kind, Data: data})
	m.mu.Unlock()
	m.notifier.Contact(ctx, contactKind, to, kind, lang, data)
}

// Notices returns the kinds of the notices to the account id's owner, in
// order; id "" returns every notice's kind.
func (m *Messages) Notices(id string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, n := range m.notices {
		if id == "" || n.AccountID == id {
			out = append(out, n.Kind)
		}
	}
	return out
}

// NoticeCount counts the notices of kind, to the account id's owner, or
// to anyone when id is "".
func (m *Messages) NoticeCount(id, kind string) int {
	c := 0
	for _, k := range m.Notices(id) {
		if k == kind {
			c++
		}
	}
	return c
}

// Last returns the newest message of kind to to, before rendering.
func (m *Messages) Last(to, kind string) (notice.Message, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.sent) - 1; i >= 0; i-- {
		if m.sent[i].To == to && m.sent[i].Kind == kind {
			return m.sent[i], true
		}
	}
	return notice.Message{}, false
}

// Sent counts the messages handed over.
func (m *Messages) Sent() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sent)
}

// SentTo lists the kinds of the messages the development sink holds for
// to, newest first: what reached the recipient.
func (m *Messages) SentTo(t testing.TB, to string) []string {
	t.Helper()
	list, err := m.Sink.List(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range list {
		if d.To == to {
			out = append(out, d.Kind)
		}
	}
	return out
}

var codeRe = regexp.MustCompile(`\b\d{6}\b`)

// Code reads the newest one-time code sent to to from the development
// sink's text, as a developer reads it at /dev/messages.
func (m *Messages) Code(t testing.TB, to string) string {
	t.Helper()
	list, err := m.Sink.List(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if d.To == to && strings.HasPrefix(d.Kind, "code.") {
			if c := codeRe.FindString(d.Text); c != "" {
				return c
			}
			t.Fatalf("no code in the %s message to %s", d.Kind, to)
		}
	}
	t.Fatalf("no code sent to %s", to)
	return ""
}
