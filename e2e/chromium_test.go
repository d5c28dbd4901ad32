package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds every browser action: a page of ours loads in
// milliseconds, and argon2id on sign-in takes well under a second.
const stepTimeout = 15 * time.Second

// chromiumPath finds Debian's chromium (or another Chromium-family browser),
// or returns "".
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/lib/chromium/chromium", "/snap/bin/chromium"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// requireChromium returns the browser's path, or skips the test (fails it
// under GOSID_E2E=1, as in CI).
func requireChromium(t *testing.T) string {
	t.Helper()
	p := chromiumPath()
	if p == "" {
		const msg = "Chromium not found (install Debian's chromium package); GOSID_E2E=1 turns this skip into a failure"
		if os.Getenv("GOSID_E2E") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// browser is one headless Chromium with a fresh profile and one tab, bound
// to a test. Every helper bounds its actions with stepTimeout and, on
// failure, saves a screenshot and the page's HTML before failing the test.
type browser struct {
	t    *testing.T
	ctx  context.Context // the tab; no deadline (a deadline would end the browser)
	base string          // e.g. http://localhost:1234

	mu      sync.Mutex
	console []string // console errors, exceptions and browser-log warnings
	dumped  bool
}

// newBrowser starts Chromium for base (a server's public URL) and stops it
// when the test ends.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := requireChromium(t)
	home, profile := t.TempDir(), t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.Env("HOME=" + home),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	// Cleanups run last-in first-out: the browser exits before its profile
	// directory is removed.
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, base: base}
	t.Cleanup(func() {
		if t.Failed() {
			b.dump("at-end")
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range b.console {
			if t.Failed() || !strings.Contains(m, "Failed to load resource") {
				t.Logf("browser console: %s", m)
			}
		}
	})

	// The first Run starts the browser; it must not carry a deadline, so the
	// start is bounded by a timer instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start Chromium (%s): %v", path, err)
		}
	case <-time.After(60 * time.Second):
		cancelTab()
		t.Fatalf("Chromium (%s) did not start within 60s", path)
	}
	go b.collectConsole()
	// A Russian citizen's browser: Accept-Language and navigator.language
	// ru-RU. (Debian's chromium ships only the en-US UI locale, so LANG
	// would not do it.)
	b.do("set the browser language", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		ua, err := chromedp.Evaluate[string](`navigator.userAgent`)(ctx, t)
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: ua, AcceptLanguage: "ru-RU,ru",
		})
		return err
	}))
	return b
}

func (b *browser) collectConsole() {
	for m, err := range chromedp.Console(b.ctx) {
		if err != nil {
			return
		}
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleException, chromedp.ConsoleWarning:
			b.mu.Lock()
			b.console = append(b.console, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
			b.mu.Unlock()
		}
	}
}

// consoleProblems returns the console errors and exceptions seen so far.
func (b *browser) consoleProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		// A response status is not a page error: the page asked for it
		// (a form redisplayed with 401) or it is a missing favicon.
		if strings.Contains(m, "Failed to load resource") {
			continue
		}
		if strings.HasPrefix(m, string(chromedp.ConsoleError)) || strings.HasPrefix(m, string(chromedp.ConsoleException)) {
			out = append(out, m)
		}
	}
	return out
}

// fatalf saves the page and fails the test.
func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	b.dump(msg)
	b.t.Fatal(msg)
}

// do runs actions within stepTimeout.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func evalIn[T any](b *browser, what, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fatalf("%s: %v", what, err)
	}
	return v
}

// open navigates to path and checks that the page loaded with 200.
func (b *browser) open(path string) {
	b.t.Helper()
	b.openStatus(path, 200)
}

// openStatus is open expecting another status, e.g. 410 for a used link.
func (b *browser) openStatus(path string, want int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.fatalf("open %s: %v", path, err)
	}
	if resp == nil || resp.Status != want {
		b.fatalf("open %s: status %v, want %d", path, status(resp), want)
	}
}

// fill types value into the field named name, as a user would, after
// clearing what the page pre-filled.
func (b *browser) fill(name, value string) {
	b.t.Helper()
	sel := chromedp.CSS(fmt.Sprintf(`[name=%q]`, name))
	b.do("type into "+name, chromedp.Clear(sel), chromedp.SendKeys(sel, value))
	if got := evalIn[string](b, "read "+name, fmt.Sprintf(`document.querySelector('[name=%q]').value`, name)); got != value {
		b.fatalf("field %s holds %q after typing %q", name, got, value)
	}
}

// click clicks the element matched by css, waits for the navigation it
// starts (following redirects) and checks that it ends on wantPath with
// wantStatus (0: any status below 500).
func (b *browser) click(css, wantPath string, wantStatus int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		b.fatalf("click %s: %v", css, err)
	}
	okStatus := resp != nil && (resp.Status == wantStatus || wantStatus == 0 && resp.Status < 500)
	if got := b.path(); got != wantPath || !okStatus {
		b.fatalf("click %s: landed on %s (status %v), want %s (status %d)", css, got, status(resp), wantPath, wantStatus)
	}
}

// submit clicks the submit button of the form posting to action, and
// expects to land on wantPath with 200.
func (b *browser) submit(action, wantPath string) {
	b.t.Helper()
	b.submitStatus(action, wantPath, 200)
}

// submitStatus is submit expecting another status, e.g. a form redisplayed
// with errors.
func (b *browser) submitStatus(action, wantPath string, wantStatus int64) {
	b.t.Helper()
	b.click(fmt.Sprintf(`form[action=%q] button[type=submit]`, action), wantPath, wantStatus)
}

// path is location.pathname.
func (b *browser) path() string {
	b.t.Helper()
	return evalIn[string](b, "read location", `location.pathname`)
}

// text is the visible text of the page's <main>.
func (b *browser) text() string {
	b.t.Helper()
	return evalIn[string](b, "read page text", `(document.querySelector('main') || document.body).innerText`)
}

// expectText fails unless the page's main text contains every want.
func (b *browser) expectText(want ...string) {
	b.t.Helper()
	text := b.text()
	for _, w := range want {
		if !strings.Contains(text, w) {
			b.fatalf("page %s does not show %q; it shows:\n%s", b.path(), w, text)
		}
	}
}

// screenshot saves a PNG of the whole page at the given CSS width (a
// phone's when width < 600) to file, then restores the desktop viewport.
// The viewport is made as tall as the page, so that no scrollbar takes
// width from the picture.
func (b *browser) screenshot(width int64, file string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	height := int64(900)
	viewport := func(h int64) chromedp.Action[chromedp.Void] {
		if width < 600 {
			return chromedp.EmulateViewport(width, h, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		return chromedp.EmulateViewport(width, h)
	}
	// Layout and web fonts at the new size.
	settle := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))))`, chromedp.EvalAwaitPromise)(ctx, t)
		return err
	})
	if width < 600 {
		height = 740
	}
	if err := chromedp.Do(ctx, viewport(height), settle); err != nil {
		b.fatalf("viewport %d: %v", width, err)
	}
	defer func() {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			b.fatalf("restore viewport: %v", err)
		}
	}()
	if over := evalIn[int](b, "measure overflow", `document.documentElement.scrollWidth - document.documentElement.clientWidth`); over > 0 {
		b.t.Errorf("%s at %d px: the page is %d px wider than the screen (horizontal scrolling)", b.path(), width, over)
	}
	if h := evalIn[int64](b, "measure height", `document.documentElement.scrollHeight`); h > height {
		if err := chromedp.Do(ctx, viewport(h), settle); err != nil {
			b.fatalf("viewport %dx%d: %v", width, h, err)
		}
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("saved %s", file)
}

// shooter saves b's page at 1280 and 360 px to
// docs/screenshots/NAME-1280.png and NAME-360.png when
// GOSID_E2E_SCREENSHOTS=1, and does nothing otherwise.
func shooter(b *browser) func(name string) {
	return func(name string) {
		if os.Getenv("GOSID_E2E_SCREENSHOTS") != "1" {
			return
		}
		dir := filepath.Join("..", "docs", "screenshots")
		b.screenshot(1280, filepath.Join(dir, name+"-1280.png"))
		b.screenshot(360, filepath.Join(dir, name+"-360.png"))
	}
}

// dump saves a screenshot and the HTML of the page into GOSID_E2E_ARTIFACTS
// when set, and otherwise logs the HTML. It is best-effort and bounded.
func (b *browser) dump(why string) {
	b.mu.Lock()
	if b.dumped {
		b.mu.Unlock()
		return
	}
	b.dumped = true
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		html = "(no HTML: " + err.Error() + ")"
	}
	dir := os.Getenv("GOSID_E2E_ARTIFACTS")
	if dir == "" {
		b.t.Logf("failure (%s) at %s; page HTML (set GOSID_E2E_ARTIFACTS=DIR to keep a screenshot):\n%s", why, loc, html)
		return
	}
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(b.t.Name(), "_")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("artifacts: %v", err)
		return
	}
	base := filepath.Join(dir, name)
	_ = os.WriteFile(base+".html", []byte("<!-- "+loc+" -->\n"+html), 0o644)
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(base+".png", png, 0o644)
	}
	b.t.Logf("failure (%s) at %s; saved %s.html and %s.png", why, loc, base, base)
}

func status(resp *network.Response) any {
	if resp == nil {
		return "none"
	}
	return resp.Status
}

// devMessage is an item of GET /dev/messages.json (message.DevMessage).
type devMessage struct {
	ID      int64  `json:"id"`
	Channel string `json:"channel"`
	To      string `json:"to"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// devCode waits for a message of kind to recipient newer than message id
// after, and returns the 6-digit code in it and the message's id.
func (s *server) devCode(t *testing.T, to, kind string, after int64) (string, int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var msgs []devMessage
		code, _, body := s.get(t, "/dev/messages.json?to="+url.QueryEscape(to))
		if code != 200 {
			t.Fatalf("GET /dev/messages.json: %d %s", code, body)
		}
		if err := json.Unmarshal(body, &msgs); err != nil {
			t.Fatalf("GET /dev/messages.json: %v\n%s", err, body)
		}
		for _, m := range msgs { // newest first
			if m.Kind == kind && m.ID > after {
				c := sixDigits.FindString(m.Text)
				if c == "" {
					t.Fatalf("%s message to %s holds no 6-digit code: %q", kind, to, m.Text)
				}
				return c, m.ID
			}
		}
		if time.Now().After(deadline) {
			_, _, all := s.get(t, "/dev/messages.json")
			t.Fatalf("no %s message to %s in the dev sink within 10s; all messages:\n%s", kind, to, all)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
