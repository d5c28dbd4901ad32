package message

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"+79991234567":       "+7********67",
		"ivan@example.ru":    "i***@example.ru",
		"i@example.ru":       "***@example.ru",
		"":                   "",
		"123":                "***",
		"иван@пример.рф":     "и***@пример.рф",
		"+442071234567":      "+4*********67",
		"not-a-phone-at-all": "****************ll",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMessageLogValueHidesDataAndRecipient(t *testing.T) {
	log, buf := newLogger()
	m := codeMsg(SMS, "+79991234567", kindRegister, "246810")
	log.Info("sending", "message", m)
	out := buf.String()
	for _, secret := range []string{"246810", "+79991234567", "9991234567"} {
		if strings.Contains(out, secret) {
			t.Errorf("log line contains %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, kindRegister) || !strings.Contains(out, `"channel":"sms"`) {
		t.Errorf("log line lacks kind or channel: %s", out)
	}
}

func TestSecretsRedacted(t *testing.T) {
	smtpCfg := SMTPConfig{Addr: "smtp.example.ru:587", From: "noreply@example.ru", Username: "gosid", Password: "hunter2-smtp",
		TLSConfig: &tls.Config{ServerName: "smtp.example.ru"}}
	smsCfg := HTTPSMSConfig{URL: "https://sms.example.ru/send?api_key=key-in-url", AuthHeader: "Authorization", AuthValue: "Bearer sms-token"}
	secrets := []string{"hunter2-smtp", "sms-token", "key-in-url"}
	log, buf := newLogger()
	log.Info("config", "smtp", smtpCfg, "sms", smsCfg, "password", smtpCfg.Password)
	js, err := json.Marshal(struct {
		SMTP SMTPConfig
		SMS  HTTPSMSConfig
	}{smtpCfg, smsCfg})
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"slog": buf.String(),
		"%v":   fmt.Sprintf("%v %v", smtpCfg, smsCfg),
		"%+v":  fmt.Sprintf("%+v %+v", smtpCfg, smsCfg),
		"%#v":  fmt.Sprintf("%#v %#v", smtpCfg, smsCfg),
		"%s":   fmt.Sprintf("%s %s", smtpCfg.Password, smsCfg.AuthValue),
		"json": string(js),
	}
	for how, out := range outputs {
		for _, s := range secrets {
			if how == "json" && s == "key-in-url" {
				continue
			}
			if strings.Contains(out, s) {
				t.Errorf("%s shows %q: %s", how, s, out)
			}
		}
		if how == "json" {
			// Encoders see the fields; only the Secret-typed ones redact.
			continue
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s does not mark the redaction: %s", how, out)
		}
	}
}

type fakeSender struct{ got []Message }

func (f *fakeSender) Send(_ context.Context, m Message) error {
	f.got = append(f.got, m)
	return nil
}

func TestRoute(t *testing.T) {
	sms := &fakeSender{}
	r := Route{SMS: sms}
	ctx := context.Background()
	if err := r.Send(ctx, codeMsg(SMS, "+79991234567", kindRegister, "1")); err != nil || len(sms.got) != 1 {
		t.Fatalf("SMS not routed: %v", err)
	}
	if err := r.Send(ctx, codeMsg(Email, "a@example.ru", kindRegister, "1")); !errors.Is(err, ErrChannelUnavailable) {
		t.Errorf("e-mail without a sender: %v", err)
	}
	if err := r.Send(ctx, codeMsg("fax", "1", kindRegister, "1")); !errors.Is(err, ErrChannelUnavailable) {
		t.Errorf("unknown channel: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, m := range []Message{
		{Channel: SMS, To: "89991234567", Kind: kindRegister},
		{Channel: SMS, To: "+7 999 123-45-67", Kind: kindRegister},
		{Channel: SMS, To: "+0123456789", Kind: kindRegister},
		{Channel: Email, To: "Ivan <ivan@example.ru>", Kind: kindRegister},
		{Channel: Email, To: "ivan@example.ru\r\nBcc: x@example.ru", Kind: kindRegister},
		{Channel: Email, To: "not an address", Kind: kindRegister},
	} {
		err := m.validate()
		if !errors.Is(err, ErrBadRecipient) {
			t.Errorf("%q accepted: %v", m.To, err)
		} else if strings.Contains(err.Error(), m.To) {
			t.Errorf("error names the recipient: %v", err)
		}
	}
	for _, m := range []Message{
		codeMsg(SMS, "+79991234567", kindRegister, "123456"),
		codeMsg(Email, "ivan.petrov+gosid@example.ru", kindRegister, "123456"),
	} {
		if err := m.validate(); err != nil {
			t.Errorf("%q refused: %v", m.To, err)
		}
	}
	// An unrendered message is refused: a sender never sends an empty text.
	for _, m := range []Message{
		{Channel: SMS, To: "+79991234567", Kind: kindRegister},
		{Channel: Email, To: "ivan@example.ru", Kind: kindRegister, Text: "x"},
	} {
		if err := m.validate(); err == nil {
			t.Errorf("unrendered %s accepted", m.Channel)
		}
	}
}
