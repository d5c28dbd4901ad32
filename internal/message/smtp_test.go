package message

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	smtpUser = "gosid"
	smtpPass = "correct horse battery"
)

// testCert makes a self-signed certificate for 127.0.0.1 and localhost and a
// pool trusting it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

type smtpServerOpts struct {
	starttls          bool // offer STARTTLS
	implicit          bool // TLS from the first byte
	allowInsecureAuth bool
	mechs             []string
}

type received struct {
	from string
	to   []string
	data []byte
}

// smtpBackend is an in-process submission server's mailbox.
type smtpBackend struct {
	mechs []string
	mu    sync.Mutex
	msgs  []received
	auths int // AUTH attempts
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

func (b *smtpBackend) authAttempts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.auths
}

func (b *smtpBackend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type smtpSession struct {
	b    *smtpBackend
	auth bool
	cur  received
}

func (s *smtpSession) AuthMechanisms() []string { return s.b.mechs }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	s.b.mu.Lock()
	s.b.auths++
	s.b.mu.Unlock()
	check := func(user, pass string) error {
		if user != smtpUser || pass != smtpPass {
			return errors.New("invalid username or password")
		}
		s.auth = true
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, errors.New("unsupported mechanism")
}

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if resp != nil {
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: no such user"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.cur = received{} }
func (s *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T, o smtpServerOpts) (addr string, be *smtpBackend, roots *x509.CertPool) {
	t.Helper()
	cert, roots := testCert(t)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if o.mechs == nil {
		o.mechs = []string{sasl.Plain}
	}
	be = &smtpBackend{mechs: o.mechs}
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.AllowInsecureAuth = o.allowInsecureAuth
	s.ErrorLog = log.New(io.Discard, "", 0)
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	if o.starttls {
		s.TLSConfig = tlsCfg
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicit {
		l = tls.NewListener(l, tlsCfg)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { s.Close() })
	return l.Addr().String(), be, roots
}

func newTestSMTP(t *testing.T, cfg SMTPConfig, roots *x509.CertPool) (*SMTP, *logBuffer) {
	t.Helper()
	log, logs := newLogger()
	if roots != nil {
		cfg.TLSConfig = &tls.Config{RootCAs: roots}
	}
	if cfg.From == "" {
		cfg.From = "Gosid <noreply@gosid.example>"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	s, err := NewSMTP(cfg, log)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s, logs
}

const testCode = "482915"

func TestSMTPSendsMultipartOverSTARTTLS(t *testing.T) {
	for _, mech := range []string{sasl.Plain, sasl.Login} {
		t.Run(mech, func(t *testing.T) {
			addr, be, roots := startSMTP(t, smtpServerOpts{starttls: true, mechs: []string{mech}})
			s, logs := newTestSMTP(t, SMTPConfig{Addr: addr, Username: smtpUser, Password: smtpPass}, roots)
			const to = "ivan.petrov@example.ru"
			if err := s.Send(context.Background(), codeMsg(Email, to, kindRegister, testCode)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := be.messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages received", len(msgs))
			}
			got := msgs[0]
			if got.from != "noreply@gosid.example" || len(got.to) != 1 || got.to[0] != to {
				t.Errorf("envelope: from %q to %q", got.from, got.to)
			}
			checkMessage(t, got.data, to, "Код для регистрации в Gosid", testCode)
			if out := logs.String(); strings.Contains(out, testCode) || strings.Contains(out, to) || strings.Contains(out, smtpPass) {
				t.Errorf("log shows the code, recipient or password: %s", out)
			}
		})
	}
}

func checkMessage(t *testing.T, data []byte, to, subject, code string) {
	t.Helper()
	for _, line := range strings.Split(string(data), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line longer than 78: %q", line)
		}
	}
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF in the message")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("message does not parse: %v", err)
	}
	h := msg.Header
	dec := new(mime.WordDecoder)
	if got, err := dec.DecodeHeader(h.Get("Subject")); err != nil || got != subject {
		t.Errorf("Subject = %q (%v), want %q; raw %q", got, err, subject, h.Get("Subject"))
	}
	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Address != "noreply@gosid.example" || from.Name != "Gosid" {
		t.Errorf("From = %q (%v)", h.Get("From"), err)
	}
	if rcpt, err := mail.ParseAddress(h.Get("To")); err != nil || rcpt.Address != to {
		t.Errorf("To = %q (%v)", h.Get("To"), err)
	}
	if d, err := h.Date(); err != nil || time.Since(d).Abs() > time.Minute {
		t.Errorf("Date = %q (%v)", h.Get("Date"), err)
	}
	if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@gosid.example>") {
		t.Errorf("Message-ID = %q", id)
	}
	if h.Get("Mime-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", h.Get("Mime-Version"))
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v)", h.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part: %v", err)
		}
		ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		if cp["charset"] != "utf-8" || p.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Errorf("part %s: headers %v", ct, p.Header)
		}
		raw, _ := io.ReadAll(p)
		for _, c := range raw {
			if c >= 0x80 {
				t.Fatalf("part %s is not 7-bit", ct)
			}
		}
		body, err := io.ReadAll(mimeQP(raw))
		if err != nil {
			t.Fatalf("part %s: %v", ct, err)
		}
		if !strings.Contains(string(body), code) || !strings.Contains(string(body), "Никому не сообщайте") {
			t.Errorf("part %s lacks the code or the warning:\n%s", ct, body)
		}
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("parts %v, want text/plain,text/html", types)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	addr, be, roots := startSMTP(t, smtpServerOpts{implicit: true})
	s, _ := newTestSMTP(t, SMTPConfig{Addr: addr, Username: smtpUser, Password: smtpPass, ImplicitTLS: true}, roots)
	if err := s.Send(context.Background(), Message{Channel: Email, To: "a@example.ru", Kind: kindPasswordChange, Lang: "en",
		Subject: "Your Gosid password was changed", Text: "Hello,\n\nthe password was changed.", HTML: "<p>The password was changed.</p>"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(be.messages()) != 1 {
		t.Fatal("not delivered")
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	addr, be, roots := startSMTP(t, smtpServerOpts{starttls: true})
	s, _ := newTestSMTP(t, SMTPConfig{Addr: addr, Username: smtpUser, Password: "wrong-password"}, roots)
	const to = "ivan@example.ru"
	err := s.Send(context.Background(), codeMsg(Email, to, kindRecover, testCode))
	if err == nil {
		t.Fatal("sent with a wrong password")
	}
	for _, leak := range []string{testCode, "wrong-password", to} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error contains %q: %v", leak, err)
		}
	}
	if !strings.Contains(err.Error(), "AUTH") {
		t.Errorf("error does not name the step: %v", err)
	}
	if len(be.messages()) != 0 {
		t.Error("a message was delivered")
	}
}

func TestSMTPRejectedRecipientIsMasked(t *testing.T) {
	addr, _, roots := startSMTP(t, smtpServerOpts{starttls: true})
	s, _ := newTestSMTP(t, SMTPConfig{Addr: addr, Username: smtpUser, Password: smtpPass}, roots)
	const to = "nobody@example.ru"
	err := s.Send(context.Background(), codeMsg(Email, to, kindContact, testCode))
	if err == nil || strings.Contains(err.Error(), to) || !strings.Contains(err.Error(), "550") {
		t.Errorf("rejected recipient: %v", err)
	}
}

func TestSMTPRefusesWithoutTLS(t *testing.T) {
	// The server would even accept AUTH in clear; the client must not.
	addr, be, _ := startSMTP(t, smtpServerOpts{allowInsecureAuth: true})
	msg := codeMsg(Email, "ivan@example.ru", kindRegister, testCode)

	s, _ := newTestSMTP(t, SMTPConfig{Addr: addr, Username: smtpUser, Password: smtpPass}, nil)
	err := s.Send(context.Background(), msg)
	if !errors.Is(err, ErrNoTLS) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("require: %v", err)
	}
	s, _ = newTestSMTP(t, SMTPConfig{Addr: addr, Username: smtpUser, Password: smtpPass, StartTLS: StartTLSOpportunistic}, nil)
	if err := s.Send(context.Background(), msg); !errors.Is(err, ErrNoTLS) {
		t.Errorf("opportunistic with a password in clear: %v", err)
	}
	if be.authAttempts() != 0 || len(be.messages()) != 0 {
		t.Fatalf("credentials or message sent in clear: %d auths, %d messages", be.authAttempts(), len(be.messages()))
	}
	// Explicitly "none" to a loopback relay is allowed.
	s, _ = newTestSMTP(t, SMTPConfig{Addr: addr, Username: smtpUser, Password: smtpPass, StartTLS: StartTLSNone}, nil)
	if err := s.Send(context.Background(), msg); err != nil {
		t.Errorf("none on loopback: %v", err)
	}
	// But not to anything else.
	_, err = NewSMTP(SMTPConfig{Addr: "smtp.example.ru:25", From: "a@example.ru", Username: "u", Password: "p", StartTLS: StartTLSNone}, discardLogger())
	if err == nil {
		t.Error("starttls=none with a password to a remote host accepted")
	}
}

func TestSMTPConfigErrors(t *testing.T) {
	for _, cfg := range []SMTPConfig{
		{Addr: "smtp.example.ru", From: "a@example.ru"},
		{Addr: "smtp.example.ru:587", From: "not an address"},
		{Addr: "smtp.example.ru:587", From: "a@example.ru", StartTLS: "maybe"},
	} {
		if _, err := NewSMTP(cfg, discardLogger()); err == nil {
			t.Errorf("accepted %v", cfg)
		}
	}
	s, _ := newTestSMTP(t, SMTPConfig{Addr: "127.0.0.1:1"}, nil)
	if err := s.Send(context.Background(), codeMsg(SMS, "+79991234567", kindRegister, "1")); !errors.Is(err, ErrChannelUnavailable) {
		t.Errorf("SMTP took an SMS: %v", err)
	}
}

func TestSMTPTimeout(t *testing.T) {
	// A server that accepts and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s, _ := newTestSMTP(t, SMTPConfig{Addr: l.Addr().String(), Timeout: 200 * time.Millisecond}, nil)
	start := time.Now()
	err = s.Send(context.Background(), codeMsg(Email, "a@example.ru", kindRegister, testCode))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("Send = %v after %s", err, time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error does not say it timed out: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s, _ = newTestSMTP(t, SMTPConfig{Addr: l.Addr().String(), Timeout: time.Minute}, nil)
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	if err := s.Send(ctx, codeMsg(Email, "a@example.ru", kindRegister, testCode)); !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled Send = %v after %s", err, time.Since(start))
	}
}

func mimeQP(b []byte) io.Reader { return quotedprintable.NewReader(bytes.NewReader(b)) }

// An e-mail with a file is multipart/mixed: the text and HTML alternative
// first, then the file in base64, named, byte for byte.
func TestComposeAttachment(t *testing.T) {
	s, err := NewSMTP(SMTPConfig{Addr: "127.0.0.1:25", From: "Gosid <noreply@gosid.example>", StartTLS: StartTLSNone}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	pdf := bytes.Repeat([]byte("%PDF-1.4 квитанция \x00\xff"), 40)
	raw, err := s.compose(Message{Channel: Email, To: "a@example.ru", Lang: "ru", Subject: "Квитанция", Text: "Оплачено", HTML: "<p>Оплачено</p>",
		Attachments: []Attachment{{Name: "receipt-123.pdf", ContentType: "application/pdf", Data: pdf}}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type = %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	alt, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if at, ap, _ := mime.ParseMediaType(alt.Header.Get("Content-Type")); at != "multipart/alternative" {
		t.Fatalf("first part %q", at)
	} else {
		ar := multipart.NewReader(alt, ap["boundary"])
		var types []string
		for {
			p, err := ar.NextPart()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			types = append(types, p.Header.Get("Content-Type"))
		}
		if len(types) != 2 {
			t.Fatalf("alternative parts %v", types)
		}
	}
	file, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if file.FileName() != "receipt-123.pdf" || file.Header.Get("Content-Transfer-Encoding") != "base64" {
		t.Fatalf("file part: %v", file.Header)
	}
	enc, _ := io.ReadAll(file)
	got, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(enc), "\r\n", ""))
	if err != nil || !bytes.Equal(got, pdf) {
		t.Fatalf("attachment differs (%v)", err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatal("a line longer than RFC 5322 allows")
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Fatalf("more parts: %v", err)
	}
}

// A message with a dedupe key keeps its Message-ID when sent again; one
// with an unsubscribe URL carries RFC 8058's two headers.
func TestSMTPKeyAndUnsubscribe(t *testing.T) {
	addr, be, roots := startSMTP(t, smtpServerOpts{starttls: true, mechs: []string{sasl.Plain}})
	s, _ := newTestSMTP(t, SMTPConfig{Addr: addr, Username: smtpUser, Password: smtpPass}, roots)
	msg := codeMsg(Email, "ivan.petrov@example.ru", kindRegister, testCode)
	msg.Key, msg.Unsubscribe = "notice-42:email", "https://portal.example/unsubscribe?t=abc"
	for range 2 {
		if err := s.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	msg.Key, msg.Unsubscribe = "", ""
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	msgs := be.messages()
	var ids []string
	for i, m := range msgs {
		parsed, err := mail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, parsed.Header.Get("Message-ID"))
		lu, lup := parsed.Header.Get("List-Unsubscribe"), parsed.Header.Get("List-Unsubscribe-Post")
		if i < 2 && (lu != "<https://portal.example/unsubscribe?t=abc>" || lup != "List-Unsubscribe=One-Click") {
			t.Errorf("message %d: List-Unsubscribe %q, List-Unsubscribe-Post %q", i, lu, lup)
		}
		if i == 2 && (lu != "" || lup != "") {
			t.Errorf("a message without an unsubscribe URL has List-Unsubscribe %q", lu)
		}
	}
	if ids[0] == "" || ids[0] != ids[1] || ids[2] == ids[0] {
		t.Errorf("Message-IDs %q: the keyed two must be equal, the unkeyed one different", ids)
	}
}
