package admin

import (
	"errors"
	"net/url"
	"strings"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// getPermalink answers chat.getPermalink: a link to a message, on the
// node the caller reached, that the web client opens
// (/archives/<channel>/p<ts without its dot>, Slack's form; a reply's
// link also names its thread). A private channel's message is
// channel_not_found to a non-member, like everything in it.
func (a *API) getPermalink(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], visible)
	if err != nil {
		return nil, err
	}
	ts, err := chat.ParseTS(c.args["message_ts"])
	if err != nil {
		return nil, chat.Error("message_not_found")
	}
	m, err := messageAt(c, a.cfg.Store, ch.ID, ts)
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": ch.ID, "permalink": permalink(c.base, ch.ID, m)}, nil
}

// messageAt is the message of channel at ts in its current state (a
// thread reply too): message_not_found when there is none, or it was
// deleted.
func messageAt(c *call, l store.Log, channel string, ts chat.TS) (chat.Message, error) {
	m, err := l.MessageAt(c.ctx, channel, ts)
	if errors.Is(err, store.ErrNotFound) {
		return chat.Message{}, chat.Error("message_not_found")
	}
	return m, err
}

// permalink is m's link under base.
func permalink(base, channel string, m chat.Message) string {
	u := base + "/archives/" + channel + "/p" + strings.Replace(m.TS.String(), ".", "", 1)
	if m.ThreadTS != 0 && m.ThreadTS != m.TS {
		u += "?" + url.Values{"thread_ts": {m.ThreadTS.String()}, "cid": {channel}}.Encode()
	}
	return u
}
