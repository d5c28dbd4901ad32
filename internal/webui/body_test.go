package webui

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

// onlyReader hides a body's length, so that the client sends it chunked,
// without Content-Length.
type onlyReader struct{ io.Reader }

func multipartBody(t *testing.T, field string, size int) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile(field, "sig.p7s")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(bytes.Repeat([]byte("x"), size))
	mw.WriteField("name", "value")
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// TestLimitBodies runs LimitBodies on a real server: a body over the
// route's limit, urlencoded or multipart, with Content-Length or chunked
// without it, is answered 413 in both languages and the route never runs;
// a body within the limit reaches the route whole; a route declaring a
// larger limit with BodyLimit gets it.
func TestLimitBodies(t *testing.T) {
	var calls atomic.Int32
	form := func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
			http.Error(w, "parse: "+err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, r.PostFormValue("name")+" "+r.PostFormValue("pad"))
		if r.MultipartForm != nil {
			for _, fs := range r.MultipartForm.File {
				for _, f := range fs {
					io.WriteString(w, " file:"+strconv.FormatInt(f.Size, 10))
				}
			}
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /form", form)
	mux.Handle("POST /upload", BodyLimit(256<<10, http.HandlerFunc(form)))
	srv := httptest.NewServer(LimitBodies(mux))
	t.Cleanup(srv.Close)

	urlencoded := func(size int) []byte {
		v := url.Values{"name": {"value"}, "pad": {""}}.Encode()
		return []byte(v + strings.Repeat("p", size-len(v)))
	}
	// Each body has its own boundary, hence its own Content-Type.
	smallType, mpSmall := multipartBody(t, "file", 10<<10)
	bigType, mpBig := multipartBody(t, "file", 70<<10)
	uploadType, mpUpload := multipartBody(t, "file", 200<<10)
	hugeType, mpHuge := multipartBody(t, "file", 300<<10)
	const formType = "application/x-www-form-urlencoded"

	for _, tc := range []struct {
		name, path, ctype string
		body              []byte
		chunked           bool
		status            int
		want              string
	}{
		{"small form", "/form", formType, urlencoded(100), false, 200, "value ppp"},
		{"form of exactly 64 KB", "/form", formType, urlencoded(MaxBodyBytes), false, 200, "value ppp"},
		{"form of 64 KB + 1", "/form", formType, urlencoded(MaxBodyBytes + 1), false, 413, ""},
		{"form of 1 MB", "/form", formType, urlencoded(1 << 20), false, 413, ""},
		{"small chunked form", "/form", formType, urlencoded(100), true, 200, "value ppp"},
		{"chunked form of 64 KB + 1", "/form", formType, urlencoded(MaxBodyBytes + 1), true, 413, ""},
		{"chunked form of 1 MB", "/form", formType, urlencoded(1 << 20), true, 413, ""},
		{"small multipart", "/form", smallType, mpSmall, false, 200, "value  file:10240"},
		{"multipart of 70 KB", "/form", bigType, mpBig, false, 413, ""},
		{"chunked multipart of 70 KB", "/form", bigType, mpBig, true, 413, ""},
		{"JSON of 70 KB", "/form", "application/json", bytes.Repeat([]byte(" "), 70<<10), false, 413, ""},
		{"upload of 200 KB", "/upload", uploadType, mpUpload, false, 200, "value  file:204800"},
		{"chunked upload of 200 KB", "/upload", uploadType, mpUpload, true, 200, "value  file:204800"},
		{"upload of 300 KB", "/upload", hugeType, mpHuge, false, 413, ""},
		{"chunked upload of 300 KB", "/upload", hugeType, mpHuge, true, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			var body io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				body = onlyReader{body}
			}
			req, _ := http.NewRequest("POST", srv.URL+tc.path, body)
			req.Header.Set("Content-Type", tc.ctype)
			if tc.chunked && req.ContentLength != -1 && req.ContentLength != 0 {
				t.Fatalf("request has Content-Length %d", req.ContentLength)
			}
			// A fresh connection each: a 413 closes it.
			c := &http.Client{Transport: &http.Transport{}}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, got)
			}
			if tc.status == 413 {
				if calls.Load() != before {
					t.Error("the route ran on an oversized body")
				}
				if !strings.Contains(string(got), "Слишком большой запрос") || !strings.Contains(string(got), `lang="ru"`) {
					t.Errorf("413 body %q", got)
				}
				return
			}
			if !strings.HasPrefix(string(got), tc.want) {
				t.Errorf("route saw %.60q, want %q", got, tc.want)
			}
		})
	}

	// No body at all passes untouched.
	resp, err := http.Post(srv.URL+"/form", formType, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("empty POST: %d", resp.StatusCode)
	}
}

// TestNewFormDropsOversizedValues: a value over MaxFieldBytes is not kept
// and its field says it is too long, in the page's language; the page
// re-rendered from the form does not contain the value.
func TestNewFormDropsOversizedValues(t *testing.T) {
	long := strings.Repeat("Ж", MaxFieldBytes) // 2 bytes a letter
	exact := strings.Repeat("a", MaxFieldBytes)
	post := func(lang string) *http.Request {
		r := httptest.NewRequest("POST", "/register?lang="+lang,
			strings.NewReader(url.Values{"family_name": {long}, "given_name": {exact}, "middle_name": {"Иванович"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	f := NewForm(post("ru"), "family_name", "given_name", "middle_name")
	if v, ok := f.Values["family_name"]; ok {
		t.Errorf("oversized value kept (%d bytes)", len(v))
	}
	if f.Err("family_name") != "Слишком длинное значение." || f.OK() {
		t.Errorf("family_name error %q, OK %v", f.Err("family_name"), f.OK())
	}
	if f.Get("given_name") != exact || f.Err("given_name") != "" || f.Get("middle_name") != "Иванович" {
		t.Errorf("values within the limit: %q %q %q", f.Get("given_name"), f.Err("given_name"), f.Get("middle_name"))
	}
	if en := NewForm(post("en"), "family_name"); en.Err("family_name") != "The value is too long." {
		t.Errorf("English error %q", en.Err("family_name"))
	}

	pages := fstest.MapFS{"templates/profile.html": {Data: []byte(
		`{{define "content"}}<form method="post">{{template "input" (field . "family_name" "layout.brand" "family-name" "")}}</form>{{end}}`)}}
	rr, err := NewRenderer(pages, nil, nil, "profile")
	if err != nil {
		t.Fatal(err)
	}
	r := post("ru")
	p := rr.NewPage(r, "layout.brand")
	p.Form = NewForm(r, "family_name")
	w := httptest.NewRecorder()
	rr.Render(w, r, http.StatusUnprocessableEntity, "profile", p)
	body := w.Body.String()
	if strings.Contains(body, "ЖЖЖЖЖЖЖЖ") {
		t.Error("the re-rendered page echoes the oversized value")
	}
	if !strings.Contains(body, `name="family_name"`) || !strings.Contains(body, "Слишком длинное значение.") {
		t.Errorf("re-rendered field lacks its error:\n%s", body)
	}
}

// FuzzNewForm posts arbitrary bodies: NewForm never keeps a value over
// MaxFieldBytes, and every field it drops carries an error.
func FuzzNewForm(f *testing.F) {
	for _, seed := range []string{
		"a=1&b=2",
		"a=" + strings.Repeat("x", MaxFieldBytes+1),
		"a=" + strings.Repeat("%D0%96", MaxFieldBytes/2+1) + "&b=%ZZ",
		"a&a=1&a=" + strings.Repeat("y", 5000),
		";a=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form := NewForm(r, "a", "b")
		for _, name := range []string{"a", "b"} {
			v, kept := form.Values[name]
			if len(v) > MaxFieldBytes {
				t.Fatalf("%s kept with %d bytes", name, len(v))
			}
			if !kept && form.Err(name) == "" {
				t.Fatalf("%s dropped without an error", name)
			}
			if kept && v != r.PostFormValue(name) {
				t.Fatalf("%s changed: %q", name, v)
			}
		}
	})
}
