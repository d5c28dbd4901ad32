package message

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestDevLog(t *testing.T) {
	var buf bytes.Buffer
	d := DevLog{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := d.Send(context.Background(), Message{Channel: SMS, To: "+79990001122", Kind: "portal.submit_code", Lang: "ru", Text: "Код 123456"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Код 123456") || !strings.Contains(buf.String(), "portal.submit_code") {
		t.Fatalf("log %q", buf.String())
	}
	if err := d.Send(context.Background(), Message{Channel: SMS, Kind: "x"}); err == nil {
		t.Fatal("a message without a recipient was accepted")
	}
}
