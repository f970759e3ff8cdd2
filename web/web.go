package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

// static holds the page. Only these kinds of file are served; anything
// else added to static/ is not embedded (and so not served).
//
//go:embed static/*.html static/*.js static/*.css static/*.svg
var static embed.FS

// types are the content types of what static/ holds, fixed here rather
// than taken from the machine's mime tables (a module script must be
// served as JavaScript whatever /etc/mime.types says).
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// CSP is the page's Content-Security-Policy: scripts, styles and images
// only from this origin (no inline script or style, no eval), API calls
// to this origin, and websockets to any host, because rtm.connect hands
// out a gateway that is usually another node.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// assetPrefix is where the page's files are, under a version directory.
const assetPrefix = "/assets/"

// file is one servable response, kept plain and (when that is smaller)
// gzipped.
type file struct {
	body, gz []byte
	ctype    string
	etag     string
}

// handler serves / (the page) and /assets/<version>/<file>.
type handler struct {
	version string // a hash of every file: a new binary with other files has another
	index   file
	assets  map[string]file // by name
}

// Handler returns the handler for the page. The page itself (/) must be
// revalidated on every load; the files it loads are named by a version
// taken from their content, so they are cached for good
// (Cache-Control: immutable) and a new binary's page asks for new names.
func Handler() http.Handler {
	names, err := fs.Glob(static, "static/*")
	if err != nil {
		panic(err) // the pattern is constant and valid
	}
	sum := sha256.New()
	raw := map[string][]byte{}
	for _, n := range names {
		b, err := static.ReadFile(n)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		n = path.Base(n)
		raw[n] = b
		sum.Write([]byte(n))
		sum.Write([]byte{0})
		sum.Write(b)
	}
	h := &handler{version: hex.EncodeToString(sum.Sum(nil))[:12], assets: map[string]file{}}
	base := assetPrefix + h.version + "/"
	// Every module is preloaded, so the browser fetches them at once
	// instead of one level of imports per round trip.
	var preload bytes.Buffer
	for _, n := range slices.Sorted(maps.Keys(raw)) {
		if path.Ext(n) == ".js" {
			fmt.Fprintf(&preload, "<link rel=\"modulepreload\" href=\"%s%s\">\n", base, n)
		}
	}
	for n, b := range raw {
		if n == "index.html" {
			b = bytes.Replace(b, []byte("<!-- modulepreload -->\n"), preload.Bytes(), 1)
			h.index = newFile(bytes.ReplaceAll(b, []byte("/assets/VERSION/"), []byte(base)), n)
			continue
		}
		h.assets[n] = newFile(b, n)
	}
	return h
}

func newFile(b []byte, name string) file {
	f := file{body: b, ctype: types[path.Ext(name)]}
	sum := sha256.Sum256(b)
	// Weak: the gzipped and the plain body are the same file.
	f.etag = `W/"` + hex.EncodeToString(sum[:8]) + `"`
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	if buf.Len() < len(b) {
		f.gz = buf.Bytes()
	}
	return f
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var f file
	hdr := w.Header()
	switch p := r.URL.Path; {
	case p == "/":
		f = h.index
		hdr.Set("Cache-Control", "no-cache")
		hdr.Set("Content-Security-Policy", CSP)
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "no-referrer")
	case strings.HasPrefix(p, "/archives/"):
		// A permalink (chat.getPermalink): the client opens the channel.
		ch, _, _ := strings.Cut(strings.TrimPrefix(p, "/archives/"), "/")
		if !validID(ch) {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, "/#"+ch, http.StatusFound)
		return
	case strings.HasPrefix(p, assetPrefix+h.version+"/"):
		var ok bool
		if f, ok = h.assets[strings.TrimPrefix(p, assetPrefix+h.version+"/")]; !ok {
			http.NotFound(w, r)
			return
		}
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	default:
		// Includes another version's files: a page from an older or newer
		// binary reloads and gets this one's.
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Type", f.ctype)
	hdr.Set("Vary", "Accept-Encoding")
	hdr.Set("ETag", f.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = f.gz
		hdr.Set("Content-Encoding", "gzip")
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// acceptsGzip reads an Accept-Encoding header: gzip listed without q=0.
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if strings.TrimSpace(coding) != "gzip" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// validID reports whether s looks like a conversation id (A-Z0-9, as
// chat.NewID makes them), so a redirect carries nothing else.
func validID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
