package passkey

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
)

// memStore is Storage in memory, with Store's semantics, for the fuzz
// target: coverage-instrumented SQLite runs a few hundred statements a
// second, which would leave the fuzzer nothing to mutate with.
type memStore struct {
	mu    sync.Mutex
	creds []Credential
	chs   map[string]Challenge
	now   func() time.Time
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{chs: map[string]Challenge{}, now: now}
}

func (m *memStore) find(id []byte) int {
	return slices.IndexFunc(m.creds, func(c Credential) bool { return bytes.Equal(c.ID, id) })
}

func (m *memStore) Add(_ context.Context, c *Credential, limit int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.find(c.ID) >= 0 {
		return fmt.Errorf("mem: %w", sqldb.ErrConflict)
	}
	n := 0
	for _, o := range m.creds {
		if o.AccountID == c.AccountID {
			n++
		}
	}
	if limit > 0 && n >= limit {
		return ErrTooMany
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = m.now()
	}
	m.creds = append(m.creds, *c)
	return nil
}

func (m *memStore) Get(_ context.Context, id []byte) (*Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(id)
	if i < 0 {
		return nil, fmt.Errorf("mem: %w", sqldb.ErrNotFound)
	}
	c := m.creds[i]
	return &c, nil
}

func (m *memStore) List(_ context.Context, accountID string) ([]Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Credential
	for _, c := range m.creds {
		if c.AccountID == accountID {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memStore) Rename(_ context.Context, accountID string, id []byte, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.find(id); i >= 0 && m.creds[i].AccountID == accountID {
		m.creds[i].Name = name
		return nil
	}
	return fmt.Errorf("mem: %w", sqldb.ErrNotFound)
}

func (m *memStore) Remove(_ context.Context, accountID string, id []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.find(id); i >= 0 && m.creds[i].AccountID == accountID {
		m.creds = slices.Delete(m.creds, i, i+1)
		return nil
	}
	return fmt.Errorf("mem: %w", sqldb.ErrNotFound)
}

func (m *memStore) RecordUse(_ context.Context, id []byte, count uint32, backupState bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(id)
	if i < 0 {
		return fmt.Errorf("mem: %w", sqldb.ErrNotFound)
	}
	c := &m.creds[i]
	if c.CloneWarning || !(c.SignCount < count || c.SignCount == 0 && count == 0) {
		return ErrCounter
	}
	c.SignCount, c.BackupState, c.LastUsedAt = count, backupState, m.now()
	return nil
}

func (m *memStore) FlagClone(_ context.Context, id []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.find(id); i >= 0 {
		m.creds[i].CloneWarning = true
		return nil
	}
	return fmt.Errorf("mem: %w", sqldb.ErrNotFound)
}

func (m *memStore) SaveChallenge(_ context.Context, c Challenge) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.chs[string(c.Hash)]; ok {
		return fmt.Errorf("mem: %w", sqldb.ErrConflict)
	}
	m.chs[string(c.Hash)] = c
	return nil
}

func (m *memStore) ConsumeChallenge(_ context.Context, hash []byte, purpose string) (*Challenge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.chs[string(hash)]
	if !ok || c.Purpose != purpose {
		return nil, fmt.Errorf("mem: %w", sqldb.ErrNotFound)
	}
	delete(m.chs, string(hash))
	if !m.now().Before(c.ExpiresAt) {
		return nil, fmt.Errorf("mem: %w", sqldb.ErrExpired)
	}
	return &c, nil
}

func (m *memStore) Sweep(context.Context) (int, error) { return 0, nil }

// memActivity runs a change on memStore, without a transaction or an
// activity log: the fuzz target judges answers, not the log.
type memActivity struct{}

func (memActivity) ChangeTx(_ context.Context, _ audit.Entry, fn func(tx *sqldb.Tx, accounts *account.Store) error) error {
	return fn(nil, nil)
}

// memAccounts is one active account.
type memAccounts struct{ a *account.Account }

func (m memAccounts) Get(_ context.Context, id string) (*account.Account, error) {
	if id != m.a.ID {
		return nil, fmt.Errorf("mem: %w", sqldb.ErrNotFound)
	}
	a := *m.a
	return &a, nil
}

func (memAccounts) AddEvent(context.Context, account.Event) error { return nil }

// memSessions signs everybody in as one account and starts no session.
type memSessions struct{ accountID string }

func (m memSessions) Start(_ http.ResponseWriter, _ *http.Request, accountID string, amr []string, _ string) (*session.Session, error) {
	return &session.Session{AccountID: accountID, AMR: amr}, nil
}

func (m memSessions) Current(*http.Request) (*session.Session, error) {
	return &session.Session{ID: "s", AccountID: m.accountID, AuthTime: t0}, nil
}
