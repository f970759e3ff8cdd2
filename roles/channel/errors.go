package channel

import "github.com/ringcast/ringcast/roles/route"

// Error is a failure with a Slack error string as its text; it crosses
// the internode wire as that string.
type Error string

func (e Error) Error() string { return string(e) }

// Errors of channel requests. The retryable ones (WrongOwner, Conflict,
// Unavailable) are handled by the Router; the others reach the client.
const (
	ErrNotInChannel    Error = "not_in_channel"
	ErrChannelNotFound Error = "channel_not_found"
	ErrArchived        Error = "is_archived"
	ErrNoText          Error = "no_text"
	ErrMsgTooLong      Error = "msg_too_long"
	ErrAlreadyMember   Error = "already_in_channel"
	ErrWrongOwner      Error = route.WrongOwner
	ErrConflict        Error = route.Conflict
	ErrUnavailable     Error = route.Unavailable
	ErrInternal        Error = "internal_error"
	ErrBadRequest      Error = "invalid_arguments"
)

// errorOf turns a reply's error string back into an error.
func errorOf(code string) error {
	if code == "" {
		return nil
	}
	return Error(code)
}
