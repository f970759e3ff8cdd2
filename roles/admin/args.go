package admin

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ringcast/ringcast/chat"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// args are a request's arguments, merged from the query and the body.
type args map[string]string

// parseArgs reads form, multipart or JSON bodies and the query string.
// Empty values count as absent (slack-go sends cursor= and team_id=). A
// token in the query string is refused (invalid_arg_name): URLs end up
// in logs, proxies' included, and in browser history.
func parseArgs(r *http.Request) (args, error) {
	a := args{}
	for k, v := range r.URL.Query() {
		if k == "token" {
			return nil, chat.Error("invalid_arg_name")
		}
		if len(v) > 0 && v[0] != "" {
			a[k] = v[0]
		}
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return a, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, chat.Error("request_timeout")
	}
	if len(body) > maxBody {
		return nil, errRequestTooLarge
	}
	if len(body) == 0 {
		return a, nil
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" {
			return nil, chat.Error("invalid_charset")
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			var syn *json.UnmarshalTypeError
			if errors.As(err, &syn) {
				return nil, chat.Error("json_not_object")
			}
			return nil, chat.Error("invalid_json")
		}
		for k, raw := range obj {
			if v := jsonArg(raw); v != "" {
				a[k] = v
			}
		}
	case "application/x-www-form-urlencoded", "":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, chat.Error("invalid_form_data")
		}
		for k, v := range vals {
			if len(v) > 0 && v[0] != "" {
				a[k] = v[0]
			}
		}
	case "multipart/form-data":
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return nil, chat.Error("invalid_form_data")
		}
		for k, v := range r.MultipartForm.Value {
			if len(v) > 0 && v[0] != "" {
				a[k] = v[0]
			}
		}
	default:
		return nil, chat.Error("invalid_post_type")
	}
	return a, nil
}

// jsonArg turns a JSON value into the string form a form field would
// carry: strings as they are, arrays of strings comma-joined, other
// scalars as written.
func jsonArg(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, ",")
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// list reads a list argument: comma-separated, or a JSON array (the Node
// SDK sends those in form fields).
func (a args) list(k string) ([]string, error) {
	v := a[k]
	if v == "" {
		return nil, nil
	}
	if strings.HasPrefix(v, "[") {
		var out []string
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			return nil, chat.Error("invalid_array_arg")
		}
		return out, nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// bool reads true/false/1/0; absent is def.
func (a args) bool(k string, def bool) (bool, error) {
	switch strings.ToLower(a[k]) {
	case "":
		return def, nil
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, chat.ErrBadRequest
}

// limit reads a page size in [1, max], def when absent.
func (a args) limit(def, max int) (int, error) {
	v := a["limit"]
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, chat.Error("invalid_limit")
	}
	if n == 0 {
		return def, nil
	}
	return min(n, max), nil
}

// intIn reads an integer argument in [lo, hi] (clamped), def when
// absent; invalid_arguments when it is not a number.
func (a args) intIn(k string, def, lo, hi int) (int, error) {
	v := a[k]
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, chat.ErrBadRequest
	}
	return min(max(n, lo), hi), nil
}

// token returns the caller's token: the bearer header or the token
// field of the body (parseArgs refuses one in the query string). Any
// other kind of Authorization header is refused, not ignored.
func token(r *http.Request, a args) (string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		t, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return "", chat.Error("not_bearer_token")
		}
		return strings.TrimSpace(t), nil
	}
	return a["token"], nil
}
