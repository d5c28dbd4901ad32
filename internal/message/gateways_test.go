package message

import (
	"log/slog"
	"slices"
	"testing"
)

// TestGateways: no gateway is development; a bad gateway setting is
// reported naming its option before anything is sent; Open routes each
// channel to its configured gateway.
func TestGateways(t *testing.T) {
	if !(Gateways{}).Development() {
		t.Fatal("no gateway should mean development")
	}
	good := Gateways{SMTP: SMTPConfig{Addr: "smtp.example.ru:587", From: "Gosid <noreply@example.ru>"}}
	if good.Development() {
		t.Fatal("an SMTP gateway is not development")
	}
	for _, tc := range []struct {
		g    Gateways
		want []string
	}{
		{good, nil},
		{Gateways{SMTP: SMTPConfig{Addr: "smtp.example.ru", From: "noreply@example.ru"}}, []string{"smtp-addr"}},
		{Gateways{SMTP: SMTPConfig{Addr: "smtp.example.ru:587", From: "not an address"}}, []string{"smtp-addr"}},
		{Gateways{SMS: HTTPSMSConfig{URL: "::bad", Method: "POST"}}, []string{"sms-gateway-url"}},
	} {
		var got []string
		tc.g.Validate(func(option, msg string) {
			if msg == "" {
				t.Errorf("%s: empty message", option)
			}
			got = append(got, option)
		})
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v: problems with %v, want %v", tc.g, got, tc.want)
		}
	}
	s, sink, err := Open(good, nil, slog.New(slog.DiscardHandler))
	if err != nil || sink != nil {
		t.Fatalf("Open = %v, sink %v", err, sink)
	}
	r, ok := s.(Route)
	if !ok || r.Email == nil || r.SMS != nil {
		t.Fatalf("Open routed %#v, want e-mail only", s)
	}
}
