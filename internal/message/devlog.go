package message

import (
	"context"
	"fmt"
	"log/slog"
)

// DevLog is the development sender of a process without the dev sink's
// table (the portal run alone, with a database of its own): it delivers
// nothing and logs every message, its text included, as the dev sink does.
// Like the dev sink it shows codes: the caller enables it only in
// development mode on loopback.
type DevLog struct{ Log *slog.Logger }

func (d DevLog) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("dev log: %w", err)
	}
	d.Log.InfoContext(ctx, "dev message (not delivered)", "channel", string(m.Channel), "to", m.To, "kind", m.Kind,
		"subject", m.Subject, "text", m.Text)
	return nil
}
