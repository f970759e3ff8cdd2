package chat

// Error is a failure a client can be told about, as Slack's error string.
// Errors cross the internode wire as that string, so a role on another
// node returns the same value.
type Error string

func (e Error) Error() string { return string(e) }

// Errors the roles answer, on either client wire (transport/apierror
// says how each is presented).
const (
	ErrNotInChannel    Error = "not_in_channel"
	ErrChannelNotFound Error = "channel_not_found"
	ErrArchived        Error = "is_archived"
	ErrNoText          Error = "no_text"
	ErrMsgTooLong      Error = "msg_too_long"
	ErrAlreadyMember   Error = "already_in_channel"
	ErrInvalidPresence Error = "invalid_presence"
	ErrUserNotFound    Error = "user_not_found"
	ErrThreadNotFound  Error = "thread_not_found"
	ErrNotAuthed       Error = "not_authed"
	ErrInvalidAuth     Error = "invalid_auth"
	ErrTokenRevoked    Error = "token_revoked"
	ErrAccountInactive Error = "account_inactive"
	ErrBadRequest      Error = "invalid_arguments"
	// ErrUnavailable: nothing was done (no owner reachable, a store
	// failure); the client may try again.
	ErrUnavailable Error = "service_unavailable"
	ErrInternal    Error = "internal_error"
	// ErrRateLimited: too many requests; the Web API answers HTTP 429.
	ErrRateLimited Error = "ratelimited"
)

// Errors a role answers when a request had no effect and may be sent
// again (package cluster retries them). A client never sees them: they
// are presented as ErrUnavailable when the retries run out.
const (
	// ErrWrongOwner: this node does not own the key in its view.
	ErrWrongOwner Error = "wrong_owner"
	// ErrConflict: the write was fenced (another owner wrote the
	// channel); the owner dropped its state and reloads it.
	ErrConflict Error = "conflict"
)

// ErrorOf turns an error string from the wire back into an error; "" is
// nil.
func ErrorOf(code string) error {
	if code == "" {
		return nil
	}
	return Error(code)
}
