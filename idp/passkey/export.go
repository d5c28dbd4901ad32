package passkey

import (
	"context"
	"time"
)

// Exported is a passkey as the personal-data export shows it: what is
// enrolled, never the key material.
type Exported struct {
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Synced     bool       `json:"synced"`
}

// Export lists the account's passkeys for the personal-data export.
func (s *Service) Export(ctx context.Context, accountID string) ([]Exported, error) {
	creds, err := s.store.List(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := []Exported{}
	for _, c := range creds {
		k := Exported{Name: c.Name, CreatedAt: c.CreatedAt, Synced: c.BackupEligible}
		if !c.LastUsedAt.IsZero() {
			k.LastUsedAt = &c.LastUsedAt
		}
		out = append(out, k)
	}
	return out, nil
}
