package message

import (
	"context"
	"fmt"
)

// Route sends each message through the sender for its channel. A nil sender
// means the channel is not configured: Send returns ErrChannelUnavailable.
type Route struct {
	SMS   Sender
	Email Sender
}

var _ Sender = Route{}

// Send hands m to the sender for m.Channel.
func (r Route) Send(ctx context.Context, m Message) error {
	var s Sender
	switch m.Channel {
	case SMS:
		s = r.SMS
	case Email:
		s = r.Email
	}
	if s == nil {
		return fmt.Errorf("%w: %q", ErrChannelUnavailable, m.Channel)
	}
	return s.Send(ctx, m)
}
