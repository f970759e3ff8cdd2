package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/transport/rtm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestTable: every error the roles return has one presentation, the same
// on both wires, and none shows a retry code to a client. (Before, the
// gateway's own map said internal_error for is_archived.)
func TestTable(t *testing.T) {
	tests := []struct {
		err    error
		code   string
		status int
		rtm    int
	}{
		{chat.ErrNoText, "no_text", 200, rtm.CodeNoText},
		{chat.ErrMsgTooLong, "msg_too_long", 200, rtm.CodeMsgTooLong},
		{chat.ErrNotInChannel, "not_in_channel", 200, rtm.CodeNotInChannel},
		{chat.ErrChannelNotFound, "channel_not_found", 200, rtm.CodeNotFound},
		{chat.ErrArchived, "is_archived", 200, rtm.CodeArchived},
		{chat.ErrAlreadyMember, "already_in_channel", 200, rtm.CodeBadRequest},
		{chat.ErrInvalidPresence, "invalid_presence", 200, rtm.CodeBadRequest},
		{chat.ErrBadRequest, "invalid_arguments", 200, rtm.CodeBadRequest},
		{chat.ErrUserNotFound, "user_not_found", 200, rtm.CodeNotFound},
		{chat.ErrThreadNotFound, "thread_not_found", 200, rtm.CodeNotFound},
		{chat.ErrNotAuthed, "not_authed", 200, rtm.CodeInvalidAuth},
		{chat.ErrInvalidAuth, "invalid_auth", 200, rtm.CodeInvalidAuth},
		{chat.ErrTokenRevoked, "token_revoked", 200, rtm.CodeInvalidAuth},
		{chat.ErrAccountInactive, "account_inactive", 200, rtm.CodeInvalidAuth},
		{chat.ErrRateLimited, "ratelimited", http.StatusTooManyRequests, rtm.CodeRateLimited},
		{chat.ErrUnavailable, "service_unavailable", 200, rtm.CodeUnavailable},
		{chat.ErrWrongOwner, "service_unavailable", 200, rtm.CodeUnavailable},
		{chat.ErrConflict, "service_unavailable", 200, rtm.CodeUnavailable},
		{chat.ErrInternal, "internal_error", 200, rtm.CodeInternalError},
		{fmt.Errorf("load: %w", chat.ErrNotInChannel), "not_in_channel", 200, rtm.CodeNotInChannel},
		{chat.Error("invalid_cursor"), "invalid_cursor", 200, rtm.CodeBadRequest}, // an argument error of the Web API
	}
	listed := map[chat.Error]bool{}
	for _, tt := range tests {
		p, known := Of(tt.err)
		if !known || p.Code != tt.code || p.Status != tt.status || p.RTM != tt.rtm || p.Msg == "" {
			t.Errorf("%v: %+v (known %v), want %s, %d, RTM %d", tt.err, p, known, tt.code, tt.status, tt.rtm)
		}
		var e chat.Error
		errors.As(tt.err, &e)
		listed[e] = true
	}
	for e := range table {
		if !listed[e] {
			t.Errorf("%s is in the table but not in the test", e)
		}
	}
	p, known := Of(errors.New("disk on fire"))
	if known || p.Code != "internal_error" || p.RTM != rtm.CodeInternalError {
		t.Errorf("an internal error: %+v, known %v", p, known)
	}
}
