package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
)

// apiErr is a Slack error string returned to the client as is.
type apiErr string

func (e apiErr) Error() string { return string(e) }

// rateLimited is "ratelimited": HTTP 429, with Retry-After for the wait.
type rateLimited time.Duration

func (rateLimited) Error() string { return "ratelimited" }

// errorCode is the one table from internal errors to Slack error strings
// and HTTP statuses. Unknown errors are internal_error (and logged).
func errorCode(err error) (code string, status int, known bool) {
	var ae apiErr
	var ce chat.Error
	var rl rateLimited
	switch {
	case errors.As(err, &rl):
		return rl.Error(), http.StatusTooManyRequests, true
	case errors.As(err, &ae):
		code = string(ae)
	case errors.As(err, &ce):
		code = string(ce)
		if ce == cluster.ErrWrongOwner || ce == cluster.ErrConflict {
			code = string(chat.ErrUnavailable)
		}
	default:
		return "internal_error", http.StatusOK, false
	}
	return code, http.StatusOK, true
}
