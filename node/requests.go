package node

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ringcast/ringcast/roles/admin"
)

// requests gives every HTTP request an id (the X-Request-Id response
// header; a Web API error carries it as request_id) and, with
// --log-requests, logs one line per request once it is answered.
func (n *Node) requests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set(admin.RequestIDHeader, id)
		if !n.cfg.LogRequests {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		status := rec.status
		if rec.hijacked {
			status = http.StatusSwitchingProtocols
		}
		n.log.Info("request", "request_id", id, "method", r.Method, "path", loggedPath(r.URL.Path), "status", status,
			"bytes", rec.bytes, "duration", time.Since(start).Round(time.Microsecond), "remote", r.RemoteAddr)
	})
}

// loggedPath is a request's path as logged: a websocket ticket (RTM's
// or Socket Mode's, a credential for 30 s) is left out.
func loggedPath(p string) string {
	for _, prefix := range []string{"/rtm/", "/apps/socket/"} {
		if strings.HasPrefix(p, prefix) {
			return prefix + "(ticket)"
		}
	}
	return p
}

// recorder notes a response's status and size for the request's line.
// It passes Hijack through, for the gateway's websocket upgrade.
type recorder struct {
	http.ResponseWriter
	status   int
	bytes    int
	hijacked bool
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("node: connection cannot be hijacked")
	}
	r.hijacked = true
	return hj.Hijack()
}

// Flush passes a flush through (pprof's streaming profiles).
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
