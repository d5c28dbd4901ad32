package message

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestDevSink(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		log, logs := newLogger()
		sink := NewDevSink(db, log)
		const phone, email = "+79991234567", "ivan@example.ru"
		for _, m := range []Message{
			codeMsg(SMS, phone, kindRegister, "111111"),
			codeMsg(Email, email, kindRecover, "222222"),
			codeMsg(SMS, phone, kindRegister, "333333"),
			{Channel: SMS, To: phone, Kind: kindNewDevice, Lang: "en",
				Text: `Gosid: a new sign-in on 02.01.2026 15:04 from 203.0.113.7, <b>"Evil" & Co</b>.`},
		} {
			if err := sink.Send(ctx, m); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
		if err := sink.Send(ctx, codeMsg(SMS, "89991234567", kindRegister, "1")); !errors.Is(err, ErrBadRecipient) {
			t.Errorf("bad phone stored: %v", err)
		}

		list, err := sink.List(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 4 {
			t.Fatalf("List: %d messages, want 4", len(list))
		}
		if list[0].Kind != kindNewDevice || !strings.Contains(list[1].Text, "333333") || !strings.Contains(list[3].Text, "111111") {
			t.Errorf("List not newest first: %+v", list)
		}
		for i := 1; i < len(list); i++ {
			if list[i].ID >= list[i-1].ID || list[i].CreatedAt.After(list[i-1].CreatedAt) {
				t.Errorf("List order: %d before %d", list[i-1].ID, list[i].ID)
			}
		}
		if e := list[2]; e.Channel != Email || e.To != email || e.Subject != "Код для восстановления пароля Gosid" || e.CreatedAt.IsZero() {
			t.Errorf("stored e-mail: %+v", e)
		}
		if two, _ := sink.List(ctx, 2); len(two) != 2 {
			t.Errorf("List(2) returned %d", len(two))
		}

		got, err := sink.Latest(ctx, phone, kindRegister)
		if err != nil || !strings.Contains(got.Text, "333333") {
			t.Errorf("Latest(phone, code.register) = %+v, %v", got, err)
		}
		if got, err := sink.Latest(ctx, phone, ""); err != nil || got.Kind != kindNewDevice {
			t.Errorf("Latest(phone, any) = %+v, %v", got, err)
		}
		if got, err := sink.Latest(ctx, email, kindRecover); err != nil || !strings.Contains(got.Text, "222222") {
			t.Errorf("Latest(email) = %+v, %v", got, err)
		}
		for _, q := range [][2]string{{email, kindRegister}, {"+70000000000", ""}} {
			if _, err := sink.Latest(ctx, q[0], q[1]); !errors.Is(err, sqldb.ErrNotFound) {
				t.Errorf("Latest(%s, %s): %v, want ErrNotFound", q[0], q[1], err)
			}
		}
		if !strings.Contains(logs.String(), "333333") {
			t.Error("the dev sink does not log the text")
		}

		srv := httptest.NewServer(sink.Handler())
		defer srv.Close()
		for _, tc := range []struct{ query, want string }{
			{"", "Отправленные сообщения"},
			{"?lang=en", "Sent messages"},
			{"?" + url.Values{"to": {phone}}.Encode(), "333333"},
		} {
			body, resp := get(t, srv.URL+"/dev/messages"+tc.query)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("page %s: %s %s", tc.query, resp.Status, resp.Header.Get("Content-Type"))
			}
			if !strings.Contains(body, tc.want) || !strings.Contains(body, `<meta http-equiv="refresh" content="5">`) {
				t.Errorf("page %s lacks %q or the refresh:\n%s", tc.query, tc.want, body)
			}
			if strings.Contains(body, "<script") {
				t.Errorf("page %s has a script", tc.query)
			}
			if strings.Contains(body, `<b>"Evil"`) || !strings.Contains(body, "&lt;b&gt;&#34;Evil&#34; &amp; Co") {
				t.Errorf("page %s does not escape message text", tc.query)
			}
		}
		body, resp := get(t, srv.URL+"/dev/messages?lang=en&to="+url.QueryEscape(email))
		if resp.StatusCode != 200 || strings.Contains(body, "333333") || !strings.Contains(body, "222222") {
			t.Errorf("page ?to= does not filter")
		}

		body, resp = get(t, srv.URL+"/dev/messages.json?"+url.Values{"to": {phone}}.Encode())
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("json: %s %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		var msgs []DevMessage
		if err := json.Unmarshal([]byte(body), &msgs); err != nil {
			t.Fatalf("json: %v", err)
		}
		if len(msgs) != 3 || msgs[0].To != phone || !strings.Contains(msgs[1].Text, "333333") {
			t.Errorf("json ?to=: %+v", msgs)
		}
		body, _ = get(t, srv.URL+"/dev/messages.json?to=nobody")
		if strings.TrimSpace(body) != "[]" {
			t.Errorf("json with no match: %s", body)
		}
		if _, resp := get(t, srv.URL+"/dev/messages.json?limit=x"); resp.StatusCode != 400 {
			t.Errorf("bad limit: %s", resp.Status)
		}
		if resp, err := http.Post(srv.URL+"/dev/messages", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST: %v %v", resp.Status, err)
		}

		// Mounted on a caller's mux under the documented patterns.
		mux := http.NewServeMux()
		mux.Handle("GET /dev/messages", sink.Handler())
		mux.Handle("GET /dev/messages.json", sink.Handler())
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/dev/messages.json", nil))
		if rec.Code != 200 {
			t.Errorf("mounted handler: %d", rec.Code)
		}
	})
}

func get(t *testing.T, u string) (string, *http.Response) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp
}

// TestDevSinkKeepsNewest500 sends more than DevKeep messages, some of them
// concurrently (as replicas would), and checks that List shows the newest
// DevKeep, that the table never holds more than a trim's worth beyond
// them (the trim runs on every devTrimEvery-th message), and that after
// a trim exactly DevKeep remain.
func TestDevSinkKeepsNewest500(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		sink := NewDevSink(db, discardLogger())
		phone := func(i int) string { return fmt.Sprintf("+7999%07d", i) }
		send := func(i int) {
			t.Helper()
			if err := sink.Send(ctx, codeMsg(SMS, phone(i), kindRegister, "123456")); err != nil {
				t.Fatal(err)
			}
		}
		count := func() (n int) {
			t.Helper()
			if err := db.QueryRow(ctx, `SELECT count(*) FROM dev_messages`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		const n = DevKeep + 2*devTrimEvery
		for i := range n - 10 {
			send(i)
			if got := count(); got > DevKeep+devTrimEvery {
				t.Fatalf("after %d messages the table holds %d rows, want at most %d", i+1, got, DevKeep+devTrimEvery)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for i := n - 10; i < n; i++ {
			wg.Go(func() {
				errs <- sink.Send(ctx, codeMsg(SMS, phone(i), kindRegister, "123456"))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Send: %v", err)
			}
		}
		if got := count(); got > DevKeep+devTrimEvery+10 {
			t.Fatalf("after concurrent sends the table holds %d rows, want at most %d", got, DevKeep+devTrimEvery+10)
		}
		list, err := sink.List(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != DevKeep {
			t.Fatalf("%d messages listed, want %d", len(list), DevKeep)
		}
		// Up to the next trim: then exactly the newest DevKeep remain.
		var last int64
		if err := db.QueryRow(ctx, `SELECT max(id) FROM dev_messages`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		sent := n
		for id := last + 1; ; id++ {
			send(sent)
			sent++
			if id%devTrimEvery == 0 {
				break
			}
		}
		if got := count(); got != DevKeep {
			t.Fatalf("after a trim the table holds %d rows, want %d", got, DevKeep)
		}
		if list, err = sink.List(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if list[0].To != phone(sent-1) || list[len(list)-1].To != phone(sent-DevKeep) {
			t.Errorf("kept %s … %s, want %s … %s", list[0].To, list[len(list)-1].To, phone(sent-1), phone(sent-DevKeep))
		}
		if _, err := sink.Latest(ctx, phone(sent-DevKeep-1), ""); !errors.Is(err, sqldb.ErrNotFound) {
			t.Errorf("message %d not trimmed: %v", sent-DevKeep-1, err)
		}
	})
}
