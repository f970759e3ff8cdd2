package admin

import (
	"errors"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/limit"
	"github.com/ringcast/ringcast/store"
)

// authRevoke answers auth.revoke: the caller's token stops working on
// this node at once and on every other within the revocation log's
// polling interval (its sessions are closed); later calls with it are
// token_revoked. test=1 checks without revoking.
func (a *API) authRevoke(c *call) (map[string]any, error) {
	test, err := c.args.bool("test", false)
	if err != nil || test {
		return map[string]any{"revoked": false}, err
	}
	if _, err := a.cfg.Store.RevokeToken(c.ctx, c.token[:]); err != nil {
		return nil, err
	}
	a.Revoked(store.Revocation{Token: c.token[:], User: c.user.ID})
	return map[string]any{"revoked": true}, nil
}

// adminSetInactive answers admin.users.setInactive (user_id, or user):
// the user's tokens stop working and their sessions are closed, on
// every node, as with auth.revoke.
func (a *API) adminSetInactive(c *call) (map[string]any, error) {
	id := c.args["user_id"]
	if id == "" {
		id = c.args["user"]
	}
	if err := a.cfg.Store.SetDeleted(c.ctx, id, true); errors.Is(err, store.ErrNotFound) {
		return nil, chat.ErrUserNotFound
	} else if err != nil {
		return nil, err
	}
	a.Revoked(store.Revocation{User: id})
	return nil, nil
}

// adminSetLimitClass answers admin.users.setLimitClass (user, class:
// person, bot or unlimited). It applies on each node when its cached
// token lookups expire (tokenTTL), and to the websockets opened with
// the tickets rtm.connect issues from then on (open ones keep theirs).
func (a *API) adminSetLimitClass(c *call) (map[string]any, error) {
	class, err := limit.ParseClass(c.args["class"])
	if err != nil {
		return nil, chat.Error("invalid_limit_class")
	}
	if err := a.cfg.Store.SetLimitClass(c.ctx, c.args["user"], string(class)); errors.Is(err, store.ErrNotFound) {
		return nil, chat.ErrUserNotFound
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}
