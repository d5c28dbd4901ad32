package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestFormBodyLimit: the IdP's pages refuse a form over 64 KB with 413
// before any handler acts on it (a sign-in with an oversized body counts no
// failure), and a field value over 1 KB is not echoed back into the
// re-rendered form.
func TestFormBodyLimit(t *testing.T) {
	db := sqldbtest.SQLite(t)
	idp := startIdP(t, db, newMasterKey(t), sqldbtest.NewClock(time.Now()))
	b := newBrowser(t, idp)
	b.register("phone", "+79105550022", "+79105550022", "Ограничений", "Иван")
	b.post("/logout", nil).expectRedirect(t, "/login")

	// Three wrong passwords padded over the limit: refused unread, so they
	// do not lock the account.
	for i := 0; i < 3; i++ {
		p := b.post("/login", url.Values{"login": {"+79105550022"}, "password": {"wrong"}, "pad": {strings.Repeat("x", 70<<10)}})
		if p.Status != http.StatusRequestEntityTooLarge || !strings.Contains(p.Body, "Слишком большой запрос") || !strings.Contains(p.Body, `<html lang="ru">`) {
			t.Fatalf("POST /login of 70 KB: %d %q", p.Status, p.Body)
		}
	}
	b.post("/login", url.Values{"login": {"+79105550022"}, "password": {goodPassword}}).expectRedirect(t, "/account")

	// An oversized field value: the page says so and does not repeat it.
	other := newBrowser(t, idp)
	long := "+7" + strings.Repeat("9", 2000)
	p := other.post("/register", url.Values{"by": {"phone"}, "phone": {long}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Слишком длинное значение") {
		t.Fatalf("POST /register with a 2 KB phone: %d %q", p.Status, firstError(p.Body))
	}
	if strings.Contains(p.Body, strings.Repeat("9", 100)) {
		t.Error("the re-rendered form echoes the oversized value")
	}
}

// TestSignatureUploadLimit: the e-signature routes declare their own,
// larger limit: a 100 KB upload reaches the handler (which reads the file
// and refuses it as no signature), a 400 KB one is refused with 413.
func TestSignatureUploadLimit(t *testing.T) {
	db := sqldbtest.SQLite(t)
	idp, _, _ := startOPWith(t, db, sqldbtest.NewClock(time.Now()), func(o *idpOptions) {
		o.Esign = esignOptions{TrustDir: filepath.Join(certFixtures, "trust"), CRLTimeout: time.Second}
	})
	b := newBrowser(t, idp)
	upload := func(size int) page {
		t.Helper()
		esignChallenge(t, b, "/login/esign")
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("signature_file", "sig.p7s")
		fw.Write(bytes.Repeat([]byte{0x30}, size))
		mw.Close()
		req, _ := http.NewRequest("POST", idp.URL+"/login/esign", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return page{Status: resp.StatusCode, Body: string(body)}
	}
	if p := upload(100 << 10); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "не распознана") {
		t.Errorf("100 KB signature file: %d %q, want the handler's 422", p.Status, firstError(p.Body))
	}
	if p := upload(400 << 10); p.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("400 KB signature file: %d %q, want 413", p.Status, firstError(p.Body))
	}
}
