package gateway

import (
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/apierror"
	"github.com/ringcast/ringcast/transport/rtm"
	"github.com/ringcast/ringcast/transport/wsframe"
)

// Revoked closes the sessions a revocation names: those opened with the
// token (found by the token id their ticket carried), or every session
// of the user when it names no token (a deactivated user). Each gets an
// error event saying why, then close 1008 (policy violation); the
// client's next rtm.connect is refused, and so is a ticket its last one
// returned before the revocation (registry.register). The node calls it
// for every entry of the store's revocation log.
func (g *Gateway) Revoked(r store.Revocation) {
	why := chat.ErrAccountInactive
	if r.Token != nil {
		why = chat.ErrTokenRevoked
	}
	rv := rtm.Revocation{User: r.User, Token: rtm.TokenIDOf(r.Token), All: r.Token == nil}
	g.reg.revoke(rv, time.Now(), func(s *session) { s.refuse(why) })
}

// refuse tells the client why its session ends (an error event), then
// closes it with 1008 (policy violation).
func (s *session) refuse(why chat.Error) {
	p, _ := apierror.Of(why)
	s.push(rtm.ErrorEvent(p.RTM, p.Msg))
	s.end(wsframe.StatusPolicyViolation, p.Code, true)
}

// refuseNew is refuse for a session that never started: the hello
// queued with its handshake is dropped, so the error comes first.
func (s *session) refuseNew(why chat.Error) {
	s.mu.Lock()
	s.queue = nil
	s.mu.Unlock()
	s.refuse(why)
}
