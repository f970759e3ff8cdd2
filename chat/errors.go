package chat

// Error is a failure a client can be told about, as Slack's error string.
// Errors cross the internode wire as that string, so a role on another
// node returns the same value.
type Error string

func (e Error) Error() string { return string(e) }

// Errors of channel and presence requests.
const (
	ErrNotInChannel    Error = "not_in_channel"
	ErrChannelNotFound Error = "channel_not_found"
	ErrArchived        Error = "is_archived"
	ErrNoText          Error = "no_text"
	ErrMsgTooLong      Error = "msg_too_long"
	ErrAlreadyMember   Error = "already_in_channel"
	ErrInvalidPresence Error = "invalid_presence"
	ErrBadRequest      Error = "invalid_arguments"
	// ErrUnavailable: nothing was done (no owner reachable, a store
	// failure); the client may try again.
	ErrUnavailable Error = "service_unavailable"
	ErrInternal    Error = "internal_error"
)

// ErrorOf turns an error string from the wire back into an error; "" is
// nil.
func ErrorOf(code string) error {
	if code == "" {
		return nil
	}
	return Error(code)
}
