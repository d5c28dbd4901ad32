package portal

import (
	"bytes"
	"context"
	htmltemplate "html/template"
	"net/url"
	"strings"

	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/notify"
)

// mailTemplate is the HTML part of every notice's e-mail; the text part
// says the same in plain text.
var mailTemplate = htmltemplate.Must(htmltemplate.ParseFS(webFS, "web/mail/notice.html"))

// mailView is what mailTemplate shows.
type mailView struct {
	Lang, Brand, Subject         string
	Paragraphs                   []string
	Link, LinkText               string
	Why, Settings, SettingsText  string
	Unsubscribe, UnsubscribeText string
}

// composeMail fills an e-mail notice's subject, text and HTML parts, its
// one-click unsubscribe link (RFC 8058: news from its category, any other
// event from e-mail), and, for a paid charge, the receipt.
func (h *Handler) composeMail(ctx context.Context, m *message.Message, n notice, l webui.Localizer, c citizen) error {
	base := strings.TrimSuffix(h.cfg.PortalURL, "/")
	v := mailView{Lang: l.Lang, Brand: l.T("portal.title"), Subject: l.T("notice.mail_subject." + n.Kind),
		Paragraphs: paragraphs(m.Text), Link: base + noticeLink(n), LinkText: l.T("mail.open"),
		Settings: base + "/settings/notifications", SettingsText: l.T("mail.settings")}
	u := notify.Unsubscribe{Subject: n.Subject, Event: n.event(), Channel: notify.Email}
	v.Why, v.UnsubscribeText = l.T("mail.why_event", l.T("event."+string(n.event()))), l.T("mail.unsubscribe_event")
	if n.Kind == noticeNews {
		v.Subject = n.Params["title"]
		v.Paragraphs = paragraphs(n.Params["body"])
		u = notify.Unsubscribe{Subject: n.Subject, Category: notify.Category(n.Params["category"])}
		v.Why, v.UnsubscribeText = l.T("mail.why_news", l.T("category."+n.Params["category"])), l.T("mail.unsubscribe_news")
	}
	if n.Kind == noticeCharge && n.Status == "paid" && n.Params["payment"] != "" {
		// The receipt goes with the e-mail, rendered now from the payment.
		att, err := h.receiptAttachment(ctx, n.Subject, n.Params["payment"], c.Name)
		if err != nil {
			return err
		}
		m.Attachments = []message.Attachment{*att}
		v.Subject = l.T("payment.mail_subject")
		v.Paragraphs = []string{l.T("payment.mail_text", n.Params["amount"], n.Params["uin"], n.Params["purpose"])}
	}
	if n.Kind == noticeNews && !notify.ValidCategory(u.Category) {
		u = notify.Unsubscribe{}
	}
	if u.Subject != "" {
		v.Unsubscribe = base + "/unsubscribe?t=" + url.QueryEscape(notify.Token(h.unsubscribeKey(), u))
		m.Unsubscribe = v.Unsubscribe
	}
	var html bytes.Buffer
	if err := mailTemplate.Execute(&html, v); err != nil {
		return err
	}
	m.Subject, m.HTML = v.Subject, html.String()
	text := strings.Join(v.Paragraphs, "\n\n") + "\n\n" + v.LinkText + ": " + v.Link + "\n\n-- \n" + v.Why + "\n" +
		v.SettingsText + ": " + v.Settings + "\n"
	if v.Unsubscribe != "" {
		text += v.UnsubscribeText + ": " + v.Unsubscribe + "\n"
	}
	m.Text = text
	return nil
}

// paragraphs splits a text at blank lines.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
