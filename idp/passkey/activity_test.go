package passkey

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// activity returns the account's activity-log entries of passkeys, oldest
// first.
func activity(t *testing.T, e *env, accountID string) []audit.Entry {
	t.Helper()
	all, err := e.ie.Activity.List(context.Background(), accountID, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for i := len(all) - 1; i >= 0; i-- {
		if strings.HasPrefix(all[i].Action, "passkey.") {
			out = append(out, all[i])
		}
	}
	return out
}

// TestActivityAndExport: adding, renaming and removing a passkey go to the
// activity log as the citizen's actions with the passkey's label; the
// personal-data export lists what is enrolled, never key material.
func TestActivityAndExport(t *testing.T) {
	e := newEnv(t, sqldbtest.SQLite(t))
	s := newServer(t, e, nil)
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
	for _, en := range activity(t, e, a.ID) {
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

// TestActivityFailureChangesNothing: while the activity log cannot be
// written, adding, renaming and removing a passkey fail (503, 500) and
// change nothing; once it can, each change is made with its entry.
func TestActivityFailureChangesNothing(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		s := newServer(t, e, nil)
		a := e.newAccount(t)
		s.signIn(t, a.ID)
		names := func() []string {
			creds, err := e.store.List(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range creds {
				out = append(out, c.Name)
			}
			return out
		}
		register := func(auth *softAuthenticator) int {
			_, _, b := s.post(t, "/passkeys/register/begin", "application/json", []byte("{}"))
			st, _, _ := s.post(t, "/passkeys/register/finish", "application/json", auth.create(t, b))
			return st
		}
		failing := func(what string, do func() int, want int) {
			t.Helper()
			var st int
			sqldbtest.NoInserts(t, db, "audit_log", func() { st = do() })
			if st != want {
				t.Errorf("%s while the activity log fails: %d, want %d", what, st, want)
			}
		}

		auth := e.authenticator(t)
		failing("add", func() int { return register(auth) }, 503)
		if n := names(); len(n) != 0 {
			t.Fatalf("stored without its entry: %q", n)
		}
		if st := register(auth); st != 200 {
			t.Fatalf("add: %d", st)
		}
		id := b64.EncodeToString(auth.credID)
		rename := func() int {
			st, _, _ := s.post(t, "/account/passkeys/rename", form, []byte(url.Values{"id": {id}, "name": {"Телефон"}}.Encode()))
			return st
		}
		remove := func() int {
			st, _, _ := s.post(t, "/account/passkeys/remove", form, []byte(url.Values{"id": {id}}.Encode()))
			return st
		}
		failing("rename", rename, 500)
		if n := names(); len(n) != 1 || n[0] != "Ключ доступа 1" {
			t.Fatalf("renamed without its entry: %q", n)
		}
		if st := rename(); st != 303 {
			t.Fatalf("rename: %d", st)
		}
		failing("remove", remove, 500)
		if n := names(); len(n) != 1 || n[0] != "Телефон" {
			t.Fatalf("removed without its entry: %q", n)
		}
		if st := remove(); st != 303 {
			t.Fatalf("remove: %d", st)
		}
		if n := names(); len(n) != 0 {
			t.Fatalf("after removal: %q", n)
		}
		var got []string
		for _, en := range activity(t, e, a.ID) {
			got = append(got, en.Action+" "+en.Detail["name"])
		}
		want := []string{audit.ActionPasskeyAdded + " Ключ доступа 1", audit.ActionPasskeyRenamed + " Телефон", audit.ActionPasskeyRemoved + " Телефон"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("activity log: %q, want %q", got, want)
		}
	})
}
