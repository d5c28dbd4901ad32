package message

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
)

// DefaultSMSBodyTemplate is the request body HTTPSMS sends unless told
// otherwise.
const DefaultSMSBodyTemplate = `{"to":{{json .To}},"text":{{json .Text}}}`

// HTTPSMSConfig configures a generic HTTP SMS gateway.
type HTTPSMSConfig struct {
	// URL is the gateway's endpoint. Only its scheme, host and path ever
	// reach a log or an error, since some gateways take a key in the query.
	URL string
	// Method is the HTTP method; "" means POST.
	Method string
	// AuthHeader names the header carrying AuthValue, e.g. "Authorization"
	// or "X-Api-Key"; empty sends none.
	AuthHeader string
	AuthValue  Secret
	// BodyTemplate is a text/template producing the request body. It sees
	// .To (E.164, "+79991234567"), .Phone (the same without "+"), .Text,
	// .Kind and .Lang, and the function json, which writes a value as a
	// JSON string: {"phone":{{json .Phone}},"message":{{json .Text}}}. For a
	// form body use urlquery and set ContentType. "" means
	// DefaultSMSBodyTemplate.
	BodyTemplate string
	// ContentType of the body; "" means "application/json".
	ContentType string
	// Timeout bounds one attempt; 0 means 10s.
	Timeout time.Duration
	// SuccessStatus is the status meaning "accepted"; 0 means any 2xx.
	SuccessStatus int
}

// LogValue shows the configuration without the secret or the URL's query.
func (c HTTPSMSConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", redactURL(c.URL)),
		slog.String("method", c.Method),
		slog.String("auth_header", c.AuthHeader),
		slog.String("auth_value", c.AuthValue.String()),
		slog.Duration("timeout", c.Timeout),
	)
}

// GoString keeps %#v from printing the secrets.
func (c HTTPSMSConfig) GoString() string { return c.String() }

// String shows the configuration without the secret or the URL's query.
func (c HTTPSMSConfig) String() string {
	return fmt.Sprintf("httpsms{url=%s method=%s auth_header=%s auth_value=%s timeout=%s}",
		redactURL(c.URL), c.Method, c.AuthHeader, c.AuthValue, c.Timeout)
}

// redactURL keeps scheme, host and path: no user info, query or fragment.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// HTTPSMS sends SMS through an HTTP gateway. A failed attempt is retried
// once, after a short pause, when the gateway answered 5xx or did not answer
// in time (a gateway that received the first request may then send the SMS
// twice: better than not at all for a sign-in code); 4xx and other answers
// are final. The text is never logged. It is safe for concurrent use.
type HTTPSMS struct {
	cfg     HTTPSMSConfig
	body    *texttemplate.Template
	log     *slog.Logger
	client  *http.Client
	backoff time.Duration
}

var _ Sender = (*HTTPSMS)(nil)

// ErrGateway: the SMS gateway refused the message or could not be reached.
var ErrGateway = errors.New("SMS gateway failed")

// smsBody is what BodyTemplate sees.
type smsBody struct {
	To, Phone, Text, Kind, Lang, Key string
}

// NewHTTPSMS checks cfg and parses the body template. A nil client means one
// that does not follow redirects (a redirect would carry the auth header
// elsewhere and counts as a failure).
func NewHTTPSMS(cfg HTTPSMSConfig, log *slog.Logger, client *http.Client) (*HTTPSMS, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("SMS gateway URL %q must be an absolute http(s) URL", redactURL(cfg.URL))
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodPost
	}
	if cfg.BodyTemplate == "" {
		cfg.BodyTemplate = DefaultSMSBodyTemplate
	}
	if cfg.ContentType == "" {
		cfg.ContentType = "application/json"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.SuccessStatus != 0 && (cfg.SuccessStatus < 200 || cfg.SuccessStatus > 299) {
		return nil, fmt.Errorf("SMS gateway success status %d is not 2xx", cfg.SuccessStatus)
	}
	if (cfg.AuthHeader == "") != (cfg.AuthValue == "") {
		return nil, errors.New("SMS gateway auth header and auth value go together")
	}
	body, err := texttemplate.New("sms-body").Option("missingkey=error").
		Funcs(map[string]any{"json": jsonString}).Parse(cfg.BodyTemplate)
	if err != nil {
		return nil, fmt.Errorf("SMS gateway body template: %w", err)
	}
	// Render a sample so that a template failing at run time fails here.
	if err := body.Execute(io.Discard, smsBody{To: "+70000000000", Phone: "70000000000", Text: "x"}); err != nil {
		return nil, fmt.Errorf("SMS gateway body template: %w", err)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		log.Warn("SMS gateway over plain HTTP: codes and the auth value travel in clear", "sms_gateway", cfg)
	}
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &HTTPSMS{cfg: cfg, body: body, log: log, client: client, backoff: 500 * time.Millisecond}, nil
}

func jsonString(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// Send posts m to the gateway.
func (g *HTTPSMS) Send(ctx context.Context, m Message) error {
	if m.Channel != SMS {
		return fmt.Errorf("SMS gateway: %w: %q", ErrChannelUnavailable, m.Channel)
	}
	if err := m.validate(); err != nil {
		return fmt.Errorf("SMS gateway: %w", err)
	}
	var body bytes.Buffer
	err := g.body.Execute(&body, smsBody{To: m.To, Phone: strings.TrimPrefix(m.To, "+"), Text: m.Text, Kind: m.Kind, Lang: normLang(m.Lang), Key: m.Key})
	if err != nil {
		return fmt.Errorf("SMS gateway: body template: %w", err)
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		retry, err := g.post(ctx, body.Bytes(), m.Key)
		if err == nil {
			g.log.InfoContext(ctx, "SMS sent", "message", m, "attempts", attempt, "duration", time.Since(start))
			return nil
		}
		if !retry || attempt == 2 || ctx.Err() != nil {
			return fmt.Errorf("SMS gateway: %w", err)
		}
		g.log.WarnContext(ctx, "SMS gateway attempt failed; retrying once", "message", m, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("SMS gateway: %w", errors.Join(ctx.Err(), err))
		case <-time.After(g.backoff):
		}
	}
}

// post makes one attempt and reports whether a failure may be retried.
func (g *HTTPSMS) post(ctx context.Context, body []byte, key string) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, g.cfg.Method, g.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%w: build request", ErrGateway)
	}
	req.Header.Set("Content-Type", g.cfg.ContentType)
	if g.cfg.AuthHeader != "" {
		req.Header.Set(g.cfg.AuthHeader, string(g.cfg.AuthValue))
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		// *url.Error quotes the whole URL, which may hold a key: keep only
		// the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, fmt.Errorf("%w: %s %s: %w", ErrGateway, g.cfg.Method, redactURL(g.cfg.URL), err)
	}
	// The body is never read into an error: a gateway may echo the text.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	ok := resp.StatusCode == g.cfg.SuccessStatus ||
		(g.cfg.SuccessStatus == 0 && resp.StatusCode >= 200 && resp.StatusCode <= 299)
	if ok {
		return false, nil
	}
	return resp.StatusCode >= 500, fmt.Errorf("%w: %s %s answered %s", ErrGateway, g.cfg.Method, redactURL(g.cfg.URL), resp.Status)
}
