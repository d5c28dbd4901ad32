package webui

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestBinding: a flow's hash comes back only from the browser that began
// it. The cookie is HttpOnly and SameSite=Lax (sent on the provider's
// redirect back), __Host- and Secure over HTTPS; a browser's flows share
// one value; a malformed cookie is replaced; a flow that kept nothing
// matches nothing.
func TestBinding(t *testing.T) {
	for _, secure := range []bool{false, true} {
		b := Binding{Name: "gosid_test", Secure: secure, TTL: 10 * time.Minute}
		w := httptest.NewRecorder()
		kept := b.Begin(w, httptest.NewRequest("GET", "/login", nil))
		cookies := w.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("secure=%v: %d cookies set, want 1", secure, len(cookies))
		}
		c := cookies[0]
		wantName := "gosid_test"
		if secure {
			wantName = "__Host-gosid_test"
		}
		if c.Name != wantName || !c.HttpOnly || c.Secure != secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 600 || len(c.Value) != 43 {
			t.Fatalf("secure=%v: cookie %+v", secure, c)
		}
		// What flows keep is domain-separated from stored token hashes,
		// and the same as flows started before kept (a rolling upgrade).
		if want := sha256.Sum256([]byte("gosid browser binding|" + c.Value)); !bytes.Equal(kept, want[:]) {
			t.Fatalf("secure=%v: the kept hash is not the binding's hash of the cookie", secure)
		}
		back := httptest.NewRequest("GET", "/callback", nil)
		back.AddCookie(c)
		if !SameBrowser(kept, b.Of(back)) {
			t.Fatalf("secure=%v: the starting browser does not match its flow", secure)
		}
		// A second flow in the same browser keeps the same value.
		w2 := httptest.NewRecorder()
		if second := b.Begin(w2, back); !bytes.Equal(second, kept) || w2.Result().Cookies()[0].Value != c.Value {
			t.Fatalf("secure=%v: a second flow changed the browser's value", secure)
		}
		other := httptest.NewRequest("GET", "/callback", nil)
		if SameBrowser(kept, b.Of(other)) {
			t.Fatalf("secure=%v: a browser without the cookie matches", secure)
		}
		other.AddCookie(&http.Cookie{Name: wantName, Value: c.Value[:42] + "!"})
		if b.Of(other) != nil {
			t.Fatalf("secure=%v: a malformed cookie reads as a binding", secure)
		}
		w3 := httptest.NewRecorder()
		if fresh := b.Begin(w3, other); bytes.Equal(fresh, kept) || len(fresh) != 32 {
			t.Fatalf("secure=%v: a malformed cookie was not replaced", secure)
		}
	}
	if SameBrowser(nil, nil) || SameBrowser([]byte{}, []byte{}) {
		t.Fatal("a flow that kept no binding matches a browser without one")
	}
}

// FuzzBindingCookie: whatever a cookie holds, Of reads a 32-byte hash or
// nothing, and never panics.
func FuzzBindingCookie(f *testing.F) {
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("")
	f.Add("%%%")
	b := Binding{Name: "gosid_test"}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "gosid_test="+v)
		if h := b.Of(r); h != nil && len(h) != 32 {
			t.Fatalf("hash of %d bytes", len(h))
		}
	})
}
