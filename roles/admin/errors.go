package admin

import (
	"time"

	"github.com/ringcast/ringcast/chat"
)

// rateLimited is chat.ErrRateLimited with the wait for Retry-After.
type rateLimited time.Duration

func (rateLimited) Error() string { return string(chat.ErrRateLimited) }

func (rateLimited) Unwrap() error { return chat.ErrRateLimited }

// errRequestTooLarge answers a request body over maxBody.
const errRequestTooLarge chat.Error = "request_too_large"
