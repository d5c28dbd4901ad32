package check

import (
	"context"
	"fmt"
)

// AskAndConfirmAll asks the registries for each check, calls between, and
// then confirms them as one batch of the drain does (tests).
func (s *Service) AskAndConfirmAll(ctx context.Context, ids []string, between func()) error {
	var cs []*Check
	for _, id := range ids {
		c, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		if n := s.ask(ctx, c); n.act != actConfirm {
			return fmt.Errorf("check %s: its answers do not confirm it (%d %s)", id, n.act, n.outcome)
		}
		cs = append(cs, c)
	}
	between()
	s.confirmAll(ctx, cs)
	return nil
}
