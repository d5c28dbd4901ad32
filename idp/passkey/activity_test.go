package passkey

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestActivityAndExport: adding, renaming and removing a passkey go to the
// activity log as the citizen's actions with the passkey's label; the
// personal-data export lists what is enrolled, never key material.
func TestActivityAndExport(t *testing.T) {
	e := newEnv(t, sqldbtest.SQLite(t))
	var mu sync.Mutex
	var entries []audit.Entry
	s := newServer(t, e, func(d *Deps) {
		d.Record = func(_ context.Context, en audit.Entry) error {
			mu.Lock()
			defer mu.Unlock()
			entries = append(entries, en)
			return nil
		}
	})
	a := e.newAccount(t)
	auth := e.authenticator(t)
	s.signIn(t, a.ID)
	_, _, b := s.post(t, "/passkeys/register/begin", "application/json", []byte("{}"))
	if st, _, b := s.post(t, "/passkeys/register/finish", "application/json", auth.create(t, b)); st != 200 {
		t.Fatalf("finish: %d %s", st, b)
	}
	exported, err := e.svc.Export(context.Background(), a.ID)
	if err != nil || len(exported) != 1 || exported[0].Name != "Ключ доступа 1" || exported[0].LastUsedAt != nil {
		t.Fatalf("export: %+v, %v", exported, err)
	}
	id := b64.EncodeToString(auth.credID)
	if st, _, _ := s.post(t, "/account/passkeys/rename", form, []byte(url.Values{"id": {id}, "name": {"Телефон"}}.Encode())); st != 303 {
		t.Fatalf("rename: %d", st)
	}
	if st, _, _ := s.post(t, "/account/passkeys/remove", form, []byte(url.Values{"id": {id}}.Encode())); st != 303 {
		t.Fatalf("remove: %d", st)
	}
	var got []string
	for _, en := range entries {
		if en.AccountID != a.ID || en.Actor != (audit.Actor{Kind: audit.ActorCitizen, ID: a.ID}) || en.IP == "" {
			t.Errorf("entry %+v: want the citizen's own, with the address", en)
		}
		got = append(got, en.Action+" "+en.Detail["name"])
	}
	want := []string{audit.ActionPasskeyAdded + " Ключ доступа 1", audit.ActionPasskeyRenamed + " Телефон", audit.ActionPasskeyRemoved + " Телефон"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("activity log: %q, want %q", got, want)
	}
	if exported, err := e.svc.Export(context.Background(), a.ID); err != nil || exported == nil || len(exported) != 0 {
		t.Errorf("export after removal: %#v, %v; want an empty list", exported, err)
	}
}
