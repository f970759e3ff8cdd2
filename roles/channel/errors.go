package channel

// Error is a failure with a Slack error string as its text; it crosses
// the internode wire as that string.
type Error string

func (e Error) Error() string { return string(e) }

// Errors of channel requests. The retryable ones (WrongOwner, Conflict,
// Unavailable) are handled by the Router; the others reach the client.
const (
	ErrNotInChannel    Error = "not_in_channel"
	ErrChannelNotFound Error = "channel_not_found"
	ErrNoText          Error = "no_text"
	ErrMsgTooLong      Error = "msg_too_long"
	ErrAlreadyMember   Error = "already_in_channel"
	ErrWrongOwner      Error = "wrong_owner"
	ErrConflict        Error = "conflict"
	ErrUnavailable     Error = "service_unavailable"
	ErrInternal        Error = "internal_error"
	ErrBadRequest      Error = "invalid_arguments"
)

// retryable reports whether a request that failed with err may succeed
// when sent again, perhaps to another owner.
func retryable(err error) bool {
	return err == ErrWrongOwner || err == ErrConflict || err == ErrUnavailable
}

// errorOf turns a reply's error string back into an error.
func errorOf(code string) error {
	if code == "" {
		return nil
	}
	return Error(code)
}
