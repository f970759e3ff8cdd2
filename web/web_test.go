package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/web"
)

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPage(t *testing.T) {
	h := web.Handler()
	r := get(t, h, "GET", "/", nil)
	page := body(t, r)
	want := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-cache",
		"Content-Security-Policy": web.CSP,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	}
	if r.StatusCode != 200 {
		t.Fatalf("GET / = %d", r.StatusCode)
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(web.CSP, "script-src 'self';") || strings.Contains(web.CSP, "unsafe") {
		t.Errorf("CSP %q allows more script than this origin's files", web.CSP)
	}
	// Nothing inline that the CSP would (rightly) refuse.
	for _, bad := range []string{`<script>`, `<script type="module">`, ` style=`, `javascript:`, `<style`} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
	if regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
		t.Error("index.html has an inline event handler")
	}
	if strings.Contains(page, "VERSION") || strings.Contains(page, "http") {
		t.Error("index.html names its files by VERSION or a full URL; want /assets/<version>/...")
	}

	// Every file the page loads, and every module those import, is served
	// with its type, for good.
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[0-9a-f]+/)([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) == 0 {
		t.Fatal("index.html loads nothing from /assets/")
	}
	base := refs[0][1]
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	todo := []string{}
	for _, m := range refs {
		todo = append(todo, m[2])
	}
	imports := regexp.MustCompile(`from '\./([^']+)'`)
	seen := map[string]bool{}
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		r := get(t, h, "GET", base+name, nil)
		text := body(t, r)
		if r.StatusCode != 200 {
			t.Errorf("%s: %d", base+name, r.StatusCode)
			continue
		}
		ext := name[strings.LastIndex(name, "."):]
		if got := r.Header.Get("Content-Type"); got != types[ext] {
			t.Errorf("%s: Content-Type %q, want %q", name, got, types[ext])
		}
		if got := r.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", name, got)
		}
		for _, m := range imports.FindAllStringSubmatch(text, -1) {
			todo = append(todo, m[1])
		}
		if strings.Contains(text, "innerHTML") || strings.Contains(text, "insertAdjacentHTML") || strings.Contains(text, "eval(") {
			t.Errorf("%s builds HTML from strings", name)
		}
	}
	if !seen["app.js"] || !seen["format.js"] {
		t.Errorf("the import walk missed modules: %v", seen)
	}
	for name := range seen {
		if strings.HasSuffix(name, ".js") && !strings.Contains(page, `<link rel="modulepreload" href="`+base+name+`">`) {
			t.Errorf("%s is not preloaded", name)
		}
	}
}

func TestServing(t *testing.T) {
	h := web.Handler()
	page := body(t, get(t, h, "GET", "/", nil))
	js := regexp.MustCompile(`/assets/[0-9a-f]+/main\.js`).FindString(page)
	plain := get(t, h, "GET", js, nil)
	plainBody := body(t, plain)

	// gzip when asked, the same bytes once unzipped.
	for _, ae := range []string{"gzip", "deflate, gzip;q=0.5", "br,gzip"} {
		r := get(t, h, "GET", js, map[string]string{"Accept-Encoding": ae})
		if r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, Vary %q", ae, r.Header.Get("Content-Encoding"), r.Header.Get("Vary"))
			continue
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		if !bytes.Equal(b, []byte(plainBody)) {
			t.Errorf("Accept-Encoding %q: the gzipped body differs", ae)
		}
	}
	for _, ae := range []string{"", "gzip;q=0", "deflate", "identity"} {
		if r := get(t, h, "GET", js, map[string]string{"Accept-Encoding": ae}); r.Header.Get("Content-Encoding") != "" {
			t.Errorf("Accept-Encoding %q: got %q", ae, r.Header.Get("Content-Encoding"))
		}
	}

	// Revalidation, HEAD, and what is not there.
	etag := plain.Header.Get("ETag")
	if r := get(t, h, "GET", js, map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusNotModified || body(t, r) != "" {
		t.Errorf("If-None-Match %s: %d", etag, r.StatusCode)
	}
	if r := get(t, h, "GET", "/", map[string]string{"If-None-Match": get(t, h, "GET", "/", nil).Header.Get("ETag")}); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match on /: %d", r.StatusCode)
	}
	if r := get(t, h, "HEAD", js, nil); r.StatusCode != 200 || body(t, r) != "" || r.Header.Get("Content-Length") != plain.Header.Get("Content-Length") {
		t.Errorf("HEAD: %d, Content-Length %s", r.StatusCode, r.Header.Get("Content-Length"))
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/", http.StatusMethodNotAllowed},
		{"PUT", js, http.StatusMethodNotAllowed},
		{"GET", "/assets/000000000000/main.js", http.StatusNotFound}, // another binary's files
		{"GET", strings.Replace(js, "main.js", "nope.js", 1), http.StatusNotFound},
		{"GET", strings.Replace(js, "main.js", "", 1), http.StatusNotFound},
		{"GET", strings.Replace(js, "main.js", "../web.go", 1), http.StatusNotFound},
		{"GET", "/index.html", http.StatusNotFound},
		{"GET", "/nope", http.StatusNotFound},
	} {
		if r := get(t, h, c.method, c.path, nil); r.StatusCode != c.status {
			t.Errorf("%s %s = %d, want %d", c.method, c.path, r.StatusCode, c.status)
		}
	}
}

// TestPermalinkOpensTheChannel: chat.getPermalink's links lead to the
// client with the channel open; anything else under /archives/ is not
// found (a redirect carries only an id).
func TestPermalinkOpensTheChannel(t *testing.T) {
	h := web.Handler()
	r := get(t, h, "GET", "/archives/C0123ABCDE/p1700000000000100", nil)
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/#C0123ABCDE" {
		t.Fatalf("permalink: %d, Location %q", r.StatusCode, r.Header.Get("Location"))
	}
	for _, p := range []string{"/archives/", "/archives/c0123/p1", "/archives/%3Cscript%3E/p1", "/archives//evil.example/p1"} {
		if r := get(t, h, "GET", p, nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %d, want 404", p, r.StatusCode)
		}
	}
}
