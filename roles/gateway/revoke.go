package gateway

import (
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
// client's next rtm.connect is refused. The node calls it for every
// entry of the store's revocation log.
func (g *Gateway) Revoked(r store.Revocation) {
	why := chat.ErrAccountInactive
	if r.Token != nil {
		why = chat.ErrTokenRevoked
	}
	p, _ := apierror.Of(why)
	id := rtm.TokenIDOf(r.Token)
	g.reg.each(func(s *session) {
		if s.user == r.User && (r.Token == nil || s.token == id) {
			s.push(rtm.ErrorEvent(p.RTM, p.Msg))
			s.end(wsframe.StatusPolicyViolation, p.Code, true)
		}
	})
}
