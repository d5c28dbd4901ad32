package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shootPage saves html, a page the test's browser got from the server at
// base, as docs/screenshots/NAME-1280.png and NAME-360.png when
// GOSID_SCREENSHOTS=1: Chromium renders it from a file, its styles and
// images fetched from the live server, and the page's empty bottom is cut
// off. It is for pages the in-process servers of these tests reach and the
// e2e walks do not (the portal outside development mode); without
// Chromium, or the switch, it does nothing.
func shootPage(t *testing.T, base, html, name string) {
	t.Helper()
	if os.Getenv("GOSID_SCREENSHOTS") != "1" {
		return
	}
	chromium := ""
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		t.Log("no Chromium: no screenshot of " + name)
		return
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "page.html")
	withBase := strings.Replace(html, "<head>", `<head><base href="`+base+`/">`, 1)
	if err := os.WriteFile(page, []byte(withBase), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{1280, 360} {
		shot := filepath.Join(dir, strconv.Itoa(width)+".png")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
			"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size="+strconv.Itoa(width)+",4000",
			"--virtual-time-budget=3000", "--screenshot="+shot, "file://"+page)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, out)
		}
		raw, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		cut, err := cropBottom(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name+"-"+strconv.Itoa(width)+".png"), cut, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cropBottom cuts off the rows at the bottom of a PNG that are all the
// colour of its bottom-left pixel (the page's background), keeping 24.
func cropBottom(raw []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	bg := img.At(b.Min.X, b.Max.Y-1)
	last := b.Min.Y
	for y := b.Max.Y - 1; y >= b.Min.Y && last == b.Min.Y; y-- {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.At(x, y) != bg {
				last = y
				break
			}
		}
	}
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return raw, nil
	}
	var out bytes.Buffer
	err = png.Encode(&out, sub.SubImage(image.Rect(b.Min.X, b.Min.Y, b.Max.X, min(b.Max.Y, last+24))))
	return out.Bytes(), err
}
