package admin

import (
	"errors"
	"strings"
	"time"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// The dev.* methods exist only on a node started with --dev (elsewhere
// they are unknown_method, like any method that does not exist). They
// let the browser client offer "sign in as any user" on a laptop,
// through the public Web API like everything else the page does: no
// token, no admin key. Never in production.

// devUsersList answers dev.users.list: up to 200 users, by id, for the
// page's sign-in picker.
func (a *API) devUsersList(c *call) (map[string]any, error) {
	users, err := a.cfg.Store.ListUsers(c.ctx, "", 200)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(users))
	for _, u := range users {
		if !u.Deleted && !u.IsBot {
			out = append(out, a.userObject(u, c))
		}
	}
	return map[string]any{"members": out}, nil
}

// devSignIn answers dev.signIn: the user called name (created when new)
// and a fresh token for it.
func (a *API) devSignIn(c *call) (map[string]any, error) {
	name := strings.ToLower(strings.TrimSpace(c.args["name"]))
	if !validUserName(name) {
		return nil, chat.Error("invalid_name")
	}
	u, err := a.cfg.Store.UserByName(c.ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		u = chat.User{ID: chat.NewID('U'), Name: name, Created: time.Now().Unix()}
		if err = a.cfg.Store.CreateUser(c.ctx, u); errors.Is(err, store.ErrNameTaken) {
			u, err = a.cfg.Store.UserByName(c.ctx, name) // created meanwhile by another call
		}
	}
	if err != nil {
		return nil, err
	}
	if u.Deleted {
		return nil, chat.ErrAccountInactive
	}
	return a.issueToken(c, u)
}
