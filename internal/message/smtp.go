package message

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"
)

// STARTTLS policies for SMTPConfig.StartTLS.
const (
	// StartTLSRequire refuses to talk to a server that does not offer
	// STARTTLS. The default.
	StartTLSRequire = "require"
	// StartTLSOpportunistic upgrades when the server offers STARTTLS and
	// otherwise sends in clear, but never authenticates in clear.
	StartTLSOpportunistic = "opportunistic"
	// StartTLSNone never upgrades. Authentication in clear is then allowed
	// only to a loopback address (a local relay).
	StartTLSNone = "none"
)

// SMTPConfig configures the SMTP sender.
type SMTPConfig struct {
	// Addr is the submission server, "host:port" (587 with STARTTLS, 465
	// with ImplicitTLS).
	Addr string
	// From is the sender, "noreply@gosid.example" or
	// "Gosid <noreply@gosid.example>".
	From string
	// Username and Password authenticate with AUTH PLAIN or LOGIN; an empty
	// Username sends without authenticating.
	Username string
	Password Secret
	// StartTLS is "require" (default), "opportunistic" or "none".
	StartTLS string
	// ImplicitTLS speaks TLS from the first byte (port 465); StartTLS is
	// then ignored.
	ImplicitTLS bool
	// TLSConfig verifies the server; nil means the system roots and the
	// host of Addr. Tests inject their own CA here. Not encoded: a
	// tls.Config holds functions and keys, so an encoder would fail on it.
	TLSConfig *tls.Config `json:"-"`
	// Timeout bounds one whole delivery, connection to QUIT; 0 means 30s.
	Timeout time.Duration
	// HelloName is the name sent with EHLO; "" means "localhost".
	HelloName string
}

// LogValue shows the configuration without the password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("from", c.From),
		slog.String("username", c.Username),
		slog.String("password", c.Password.String()),
		slog.String("starttls", c.StartTLS),
		slog.Bool("implicit_tls", c.ImplicitTLS),
		slog.Duration("timeout", c.Timeout),
	)
}

// GoString keeps %#v from printing the secrets.
func (c SMTPConfig) GoString() string { return c.String() }

// String shows the configuration without the password.
func (c SMTPConfig) String() string {
	return fmt.Sprintf("smtp{addr=%s from=%s username=%s password=%s starttls=%s implicit_tls=%t timeout=%s}",
		c.Addr, c.From, c.Username, c.Password, c.StartTLS, c.ImplicitTLS, c.Timeout)
}

// SMTP sends e-mail through a submission server. Each Send opens its own
// connection. It is safe for concurrent use.
type SMTP struct {
	cfg        SMTPConfig
	host       string
	from       *mail.Address
	tls        *tls.Config
	allowClear bool // AUTH without TLS: StartTLS "none" to loopback only
	log        *slog.Logger
	now        func() time.Time
}

var _ Sender = (*SMTP)(nil)

// ErrNoTLS: the server does not offer STARTTLS though the policy requires
// it, or credentials would have to be sent in clear.
var ErrNoTLS = errors.New("SMTP server connection is not encrypted")

// NewSMTP checks cfg and returns the sender. It does not connect.
func NewSMTP(cfg SMTPConfig, log *slog.Logger) (*SMTP, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("smtp: address %q is not host:port", cfg.Addr)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from address %q: %w", cfg.From, err)
	}
	switch cfg.StartTLS {
	case "":
		cfg.StartTLS = StartTLSRequire
	case StartTLSRequire, StartTLSOpportunistic, StartTLSNone:
	default:
		return nil, fmt.Errorf("smtp: starttls must be require, opportunistic or none, not %q", cfg.StartTLS)
	}
	if cfg.ImplicitTLS {
		cfg.StartTLS = ""
	}
	loopback := isLoopback(host)
	if cfg.StartTLS == StartTLSNone && cfg.Username != "" && !loopback {
		return nil, errors.New("smtp: starttls=none with a username would send the password in clear; allowed only to a loopback address")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	tlsCfg := &tls.Config{}
	if cfg.TLSConfig != nil {
		tlsCfg = cfg.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = host
	}
	if tlsCfg.MinVersion == 0 {
		tlsCfg.MinVersion = tls.VersionTLS12
	}
	if cfg.StartTLS == StartTLSNone {
		log.Warn("SMTP without TLS: e-mails with one-time codes travel in clear", "smtp", cfg)
	}
	return &SMTP{
		cfg: cfg, host: host, from: from, tls: tlsCfg,
		allowClear: cfg.StartTLS == StartTLSNone && loopback,
		log:        log, now: time.Now,
	}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers m. Errors name the SMTP step and the
// server's reply, never the text or the recipient.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if m.Channel != Email {
		return fmt.Errorf("smtp: %w: %q", ErrChannelUnavailable, m.Channel)
	}
	if err := m.validate(); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	msg, err := s.compose(m)
	if err != nil {
		return fmt.Errorf("smtp: compose: %w", err)
	}
	start := time.Now()
	if err := s.deliver(ctx, m.To, msg); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "e-mail sent", "message", m, "duration", time.Since(start))
	return nil
}

func (s *SMTP) deliver(ctx context.Context, to string, msg []byte) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	step := "connect"
	defer func() {
		if err != nil {
			err = fmt.Errorf("smtp: %s: %w", step, redactReply(err, to))
		}
	}()
	dialer := &net.Dialer{}
	var conn net.Conn
	if s.cfg.ImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: s.tls}).DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// net/smtp takes no context: a cancelled ctx unblocks it through the
	// connection's deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	defer func() {
		switch {
		case err == nil:
		case ctx.Err() != nil:
			err = errors.Join(ctx.Err(), err)
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The connection's deadline is ctx's and may fire a moment
			// before ctx's own timer does.
			err = errors.Join(context.DeadlineExceeded, err)
		}
	}()

	step = "greeting"
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return err
	}
	defer c.Close()
	step = "EHLO"
	if err = c.Hello(s.cfg.HelloName); err != nil {
		return err
	}
	encrypted := s.cfg.ImplicitTLS
	if s.cfg.StartTLS == StartTLSRequire || s.cfg.StartTLS == StartTLSOpportunistic {
		step = "STARTTLS"
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err = c.StartTLS(s.tls); err != nil {
				return err
			}
			encrypted = true
		} else if s.cfg.StartTLS == StartTLSRequire {
			return fmt.Errorf("%w: the server does not offer STARTTLS (starttls=require)", ErrNoTLS)
		}
	}
	if s.cfg.Username != "" {
		step = "AUTH"
		if !encrypted && !s.allowClear {
			return fmt.Errorf("%w: refusing to send the password in clear", ErrNoTLS)
		}
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return errors.New("the server offers no AUTH")
		}
		var a smtp.Auth
		switch fields := strings.Fields(strings.ToUpper(mechs)); {
		case contains(fields, "PLAIN"):
			a = &plainAuth{user: s.cfg.Username, pass: string(s.cfg.Password), allowClear: s.allowClear}
		case contains(fields, "LOGIN"):
			a = &loginAuth{user: s.cfg.Username, pass: string(s.cfg.Password), allowClear: s.allowClear}
		default:
			return fmt.Errorf("the server offers neither AUTH PLAIN nor LOGIN (only %q)", mechs)
		}
		if err = c.Auth(a); err != nil {
			return err
		}
	}
	step = "MAIL FROM"
	if err = c.Mail(s.from.Address); err != nil {
		return err
	}
	step = "RCPT TO"
	if err = c.Rcpt(to); err != nil {
		return err
	}
	step = "DATA"
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err = w.Write(msg); err != nil {
		return err
	}
	if err = w.Close(); err != nil {
		return err
	}
	step = "QUIT"
	// The message is accepted once DATA ends; a failed QUIT loses nothing.
	_ = c.Quit()
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// redactReply removes the recipient from a server reply, which may quote it
// ("<ivan@example.ru>: mailbox unavailable").
func redactReply(err error, to string) error {
	var te *textproto.Error
	if errors.As(err, &te) && strings.Contains(strings.ToLower(te.Msg), strings.ToLower(to)) {
		msg := te.Msg
		if i := strings.Index(strings.ToLower(msg), strings.ToLower(to)); i >= 0 {
			msg = msg[:i] + Mask(to) + msg[i+len(to):]
		}
		return &textproto.Error{Code: te.Code, Msg: msg}
	}
	return err
}

// compose builds the RFC 5322 message: multipart/alternative with a text
// and an HTML part, both UTF-8 quoted-printable; with attachments, that
// alternative is the first part of a multipart/mixed and each file follows
// in base64.
func (s *SMTP) compose(m Message) ([]byte, error) {
	var b bytes.Buffer
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	if m.Key != "" {
		// The same message sent again after an unknown outcome keeps its
		// Message-ID, by which receiving systems drop the duplicate.
		sum := sha256.Sum256([]byte("gosid message-id|" + m.Key))
		id = sum[:16]
	}
	subject := mime.BEncoding.Encode("utf-8", oneLine(m.Subject))
	if subject != oneLine(m.Subject) {
		// Encoded words run to 75 characters: fold before each so that no
		// header line grows past 78.
		subject = "\r\n " + strings.ReplaceAll(subject, "?= =?", "?=\r\n =?")
	}
	header := []struct{ k, v string }{
		{"From", s.from.String()},
		{"To", (&mail.Address{Address: m.To}).String()},
		{"Subject", subject},
		{"Date", s.now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Language", normLang(m.Lang)},
		{"Auto-Submitted", "auto-generated"}, // RFC 3834: no auto-replies
	}
	if m.Unsubscribe != "" {
		// RFC 8058: one click in the mail client POSTs
		// "List-Unsubscribe=One-Click" to this URL.
		header = append(header, struct{ k, v string }{"List-Unsubscribe", "<" + m.Unsubscribe + ">"},
			struct{ k, v string }{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"})
	}
	var mixed *multipart.Writer
	if len(m.Attachments) > 0 {
		mixed = multipart.NewWriter(&b)
		header = append(header, struct{ k, v string }{"Content-Type", "multipart/mixed;\r\n boundary=\"" + mixed.Boundary() + "\""})
	} else {
		header = append(header, struct{ k, v string }{"Content-Type", "multipart/alternative;\r\n boundary=\"" + mw.Boundary() + "\""})
	}
	for _, h := range header {
		sep := ": "
		if strings.HasPrefix(h.v, "\r\n") {
			sep = ":"
		}
		b.WriteString(h.k + sep + h.v + "\r\n")
	}
	b.WriteString("\r\n")
	for _, p := range []struct{ ctype, body string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(p.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	if mixed == nil {
		b.Write(body.Bytes())
		return b.Bytes(), nil
	}
	alt, err := mixed.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/alternative;\r\n boundary=\"" + mw.Boundary() + "\""}})
	if err != nil {
		return nil, err
	}
	if _, err := alt.Write(body.Bytes()); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		name := mime.QEncoding.Encode("utf-8", a.Name)
		pw, err := mixed.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(a.ContentType, map[string]string{"name": a.Name})},
			"Content-Disposition":       {`attachment; filename="` + name + `"`},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			if _, err := io.WriteString(pw, enc[:76]+"\r\n"); err != nil {
				return nil, err
			}
			enc = enc[76:]
		}
		if _, err := io.WriteString(pw, enc+"\r\n"); err != nil {
			return nil, err
		}
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// plainAuth is AUTH PLAIN (RFC 4616). net/smtp's own PlainAuth decides
// about clear text by the host name; this one follows the sender's policy.
type plainAuth struct {
	user, pass string
	allowClear bool
}

func (a *plainAuth) Start(si *smtp.ServerInfo) (string, []byte, error) {
	if !si.TLS && !a.allowClear {
		return "", nil, fmt.Errorf("%w: refusing to send the password in clear", ErrNoTLS)
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected AUTH PLAIN challenge")
	}
	return nil, nil
}

// loginAuth is the obsolete but common AUTH LOGIN: the server asks for the
// user name, then the password.
type loginAuth struct {
	user, pass string
	allowClear bool
	step       int
}

func (a *loginAuth) Start(si *smtp.ServerInfo) (string, []byte, error) {
	if !si.TLS && !a.allowClear {
		return "", nil, fmt.Errorf("%w: refusing to send the password in clear", ErrNoTLS)
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.user), nil
	case 2:
		return []byte(a.pass), nil
	default:
		return nil, errors.New("unexpected AUTH LOGIN challenge")
	}
}
