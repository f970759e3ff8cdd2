// Package apierror is the one table from an error to what a client is
// told about it, on either client wire: Slack's error string (the Web
// API's "error"), the Web API's HTTP status, and the RTM error code and
// message. The admin role (Web API) and the gateway (RTM) both present
// errors through it, so that the two cannot drift.
//
// Errors are chat.Error values (they cross the internode wire as their
// string). The table lists those with a presentation of their own; any
// other chat.Error is a request the client got wrong (HTTP 200, RTM
// bad request, its string as the message); any other error is an
// internal one, which the caller logs.
package apierror

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/transport/rtm"
)

// Presentation is how an error reaches a client.
type Presentation struct {
	Code   string // Slack's error string: the Web API's "error"
	Status int    // the Web API's HTTP status (Slack answers most errors with 200)
	RTM    int    // the RTM error code
	Msg    string // the RTM error message
}

// row makes a table entry whose RTM message is its Slack string.
func row(code chat.Error, status, rtmCode int) Presentation {
	return Presentation{Code: string(code), Status: status, RTM: rtmCode, Msg: string(code)}
}

// table is every error with a presentation of its own.
var table = map[chat.Error]Presentation{
	chat.ErrNoText:          {Code: string(chat.ErrNoText), Status: http.StatusOK, RTM: rtm.CodeNoText, Msg: "message text is missing"},
	chat.ErrMsgTooLong:      row(chat.ErrMsgTooLong, http.StatusOK, rtm.CodeMsgTooLong),
	chat.ErrNotInChannel:    row(chat.ErrNotInChannel, http.StatusOK, rtm.CodeNotInChannel),
	chat.ErrChannelNotFound: row(chat.ErrChannelNotFound, http.StatusOK, rtm.CodeNotFound),
	chat.ErrArchived:        row(chat.ErrArchived, http.StatusOK, rtm.CodeArchived),
	chat.ErrAlreadyMember:   row(chat.ErrAlreadyMember, http.StatusOK, rtm.CodeBadRequest),
	chat.ErrInvalidPresence: row(chat.ErrInvalidPresence, http.StatusOK, rtm.CodeBadRequest),
	chat.ErrBadRequest:      row(chat.ErrBadRequest, http.StatusOK, rtm.CodeBadRequest),
	chat.ErrUserNotFound:    row(chat.ErrUserNotFound, http.StatusOK, rtm.CodeNotFound),
	chat.ErrThreadNotFound:  row(chat.ErrThreadNotFound, http.StatusOK, rtm.CodeNotFound),
	chat.ErrNotAuthed:       row(chat.ErrNotAuthed, http.StatusOK, rtm.CodeInvalidAuth),
	chat.ErrInvalidAuth:     row(chat.ErrInvalidAuth, http.StatusOK, rtm.CodeInvalidAuth),
	chat.ErrTokenRevoked:    row(chat.ErrTokenRevoked, http.StatusOK, rtm.CodeInvalidAuth),
	chat.ErrAccountInactive: row(chat.ErrAccountInactive, http.StatusOK, rtm.CodeInvalidAuth),
	chat.ErrRateLimited:     row(chat.ErrRateLimited, http.StatusTooManyRequests, rtm.CodeRateLimited),
	chat.ErrUnavailable:     row(chat.ErrUnavailable, http.StatusOK, rtm.CodeUnavailable),
	// A request that had no effect and ran out of retries: the client
	// may try again.
	chat.ErrWrongOwner: row(chat.ErrUnavailable, http.StatusOK, rtm.CodeUnavailable),
	chat.ErrConflict:   row(chat.ErrUnavailable, http.StatusOK, rtm.CodeUnavailable),
	chat.ErrInternal:   row(chat.ErrInternal, http.StatusOK, rtm.CodeInternalError),
}

// Of returns how err is presented. known is false for an error that is
// not a chat.Error (an internal failure: internal_error, to be logged).
func Of(err error) (p Presentation, known bool) {
	var e chat.Error
	if !errors.As(err, &e) {
		return table[chat.ErrInternal], false
	}
	if p, ok := table[e]; ok {
		return p, true
	}
	return row(e, http.StatusOK, rtm.CodeBadRequest), true
}

// Refuse answers an HTTP request that is refused before it becomes a
// connection (a websocket upgrade with a bad ticket...) with status and
// Slack's error body, {"ok":false,"error":code}.
func Refuse(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
}
