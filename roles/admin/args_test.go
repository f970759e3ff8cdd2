package admin

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/chat"
)

// FuzzParseArgs: whatever a request carries, parseArgs answers with
// arguments or a Slack error string, never a panic; a token never comes
// from the query string; an empty value is never an argument. Seeds:
// testdata/requests/*.txt, each a content type, a query string and a
// body on the lines that follow.
func FuzzParseArgs(f *testing.F) {
	files, _ := filepath.Glob("testdata/requests/*.txt")
	if len(files) == 0 {
		f.Fatal("no seeds in testdata/requests")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		ctype, rest, _ := strings.Cut(string(b), "\n")
		query, body, _ := strings.Cut(rest, "\n")
		f.Add(ctype, query, []byte(body))
	}
	known := map[string]bool{"invalid_json": true, "json_not_object": true, "invalid_charset": true, "invalid_form_data": true,
		"invalid_post_type": true, "request_too_large": true, "request_timeout": true, "invalid_arg_name": true}
	f.Fuzz(func(t *testing.T, ctype, query string, body []byte) {
		r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/api/x", RawQuery: query},
			Header: http.Header{}, Body: http.NoBody}
		if len(body) > 0 {
			r.Body = nopCloser{bytes.NewReader(body)}
		}
		r.Header.Set("Content-Type", ctype)
		a, err := parseArgs(r)
		if err != nil {
			var ae chat.Error
			if !errors.As(err, &ae) || !known[string(ae)] {
				t.Fatalf("error %v is not one of the Slack errors parseArgs answers", err)
			}
			return
		}
		if q, _ := url.ParseQuery(query); q.Has("token") {
			t.Fatalf("a token in the query string %q was taken", query)
		}
		for k, v := range a {
			if v == "" {
				t.Fatalf("empty argument %q", k)
			}
		}
	})
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
