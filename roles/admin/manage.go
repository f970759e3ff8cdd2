package admin

import (
	"errors"
	"unicode/utf8"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/store"
)

// Channel management: topic, purpose, name, archive and kick. Each
// change is an entry on the channel's log, checked and committed by its
// owner like an edit (roles/channel's checkChannel), which also updates
// the channel's row in the same transaction.

// maxTopic is Slack's cap on a topic or purpose, in characters.
const maxTopic = 250

// manage sends a change of the channel to its owner and returns the
// channel as it is after it.
func (a *API) manage(c *call, op chat.Kind, value string) (chat.Channel, error) {
	ch, err := a.lookup(c, c.args["channel"], visible)
	if err != nil {
		return ch, err
	}
	if _, _, err := a.cfg.Channels.Change(c.ctx, cluster.Change{Op: op, Channel: ch.ID, User: c.user.ID, Name: value}); err != nil {
		return ch, err
	}
	return a.cfg.Store.Channel(c.ctx, ch.ID)
}

// setText is conversations.setTopic and setPurpose: the argument arg,
// at most maxTopic characters.
func setText(op chat.Kind, arg string) func(*API, *call) (map[string]any, error) {
	return func(a *API, c *call) (map[string]any, error) {
		v := c.args[arg]
		if utf8.RuneCountInString(v) > maxTopic {
			return nil, chat.Error("too_long")
		}
		ch, err := a.manage(c, op, v)
		if err != nil {
			return nil, err
		}
		obj, err := a.fullChannel(c, ch)
		return map[string]any{"channel": obj}, err
	}
}

func (a *API) rename(c *call) (map[string]any, error) {
	name := c.args["name"]
	if err := checkChannelName(name); err != nil {
		return nil, err
	}
	ch, err := a.manage(c, chat.KindRename, name)
	if err != nil {
		return nil, err
	}
	obj, err := a.fullChannel(c, ch)
	return map[string]any{"channel": obj}, err
}

// archive is conversations.archive and unarchive.
func archive(op chat.Kind) func(*API, *call) (map[string]any, error) {
	return func(a *API, c *call) (map[string]any, error) {
		_, err := a.manage(c, op, "")
		return map[string]any{}, err
	}
}

func (a *API) kick(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], membership)
	if err != nil {
		return nil, err
	}
	user := c.args["user"]
	if user == "" {
		return nil, chat.ErrBadRequest
	}
	if user == c.user.ID {
		return nil, chat.Error("cant_kick_self")
	}
	if _, err := a.cfg.Store.User(c.ctx, user); errors.Is(err, store.ErrNotFound) {
		return nil, chat.ErrUserNotFound
	} else if err != nil {
		return nil, err
	}
	if ch.IsArchived {
		return nil, chat.ErrArchived
	}
	return map[string]any{}, a.cfg.Channels.Kick(c.ctx, ch.ID, c.user.ID, user)
}
