package apps

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/transport/appevent"
)

// events are the app's events of one log entry, as it subscribed: the
// message (message.channels, message.groups, message.im, message.mpim by
// the conversation) and, when it mentions the bot, app_mention. Each has an id made from the entry, so that every
// delivery of it, after a restart too, carries the same event_id.
func (d *dispatcher) events(ctx context.Context, ch chat.Channel, m *chat.Message) []appevent.Event {
	var out []appevent.Event
	sub, chType := "message.channels", "channel"
	switch {
	case ch.Type == chat.TypeIM:
		sub, chType = "message.im", "im"
	case ch.Type == chat.TypeMPIM:
		sub, chType = "message.mpim", "mpim"
	case ch.IsPrivate:
		sub, chType = "message.groups", "group"
	}
	bot := d.botOf(ctx, m.User)
	if d.app.Subscribes(sub) {
		ev := messageEvent(m, d.a.cfg.Team, chType, bot)
		out = append(out, appevent.Event{ID: eventID(m, 'M'), Time: int64(m.TS) / 1e6, Body: ev})
	}
	if d.app.Subscribes("app_mention") && m.User != d.app.BotUser && strings.Contains(m.Text, "<@"+d.app.BotUser+">") {
		ev := map[string]any{"type": "app_mention", "user": m.User, "text": m.Text, "ts": m.TS.String(),
			"channel": m.Channel, "event_ts": m.TS.String(), "team": d.a.cfg.Team}
		decorate(ev, m, bot)
		b, _ := json.Marshal(ev)
		out = append(out, appevent.Event{ID: eventID(m, 'A'), Time: int64(m.TS) / 1e6, Body: b})
	}
	return out
}

// eventID is Ev, the channel id, the seq and the kind of event.
func eventID(m *chat.Message, kind byte) string {
	return fmt.Sprintf("Ev%s%X%c", strings.TrimLeft(m.Channel, "CDG"), m.Seq, kind)
}

// messageEvent is the Events API's message event.
func messageEvent(m *chat.Message, team, chType string, bot botIDs) []byte {
	ev := map[string]any{"type": "message", "channel": m.Channel, "user": m.User, "text": m.Text,
		"ts": m.TS.String(), "event_ts": m.TS.String(), "channel_type": chType, "team": team}
	decorate(ev, m, bot)
	b, _ := json.Marshal(ev)
	return b
}

// decorate adds what a message may have: its thread, client_msg_id, and
// the bot and app ids of a bot's (Bolt ignores its own messages by
// them).
func decorate(ev map[string]any, m *chat.Message, bot botIDs) {
	if m.ThreadTS != 0 {
		ev["thread_ts"] = m.ThreadTS.String()
	}
	if m.ClientMsgID != "" {
		ev["client_msg_id"] = m.ClientMsgID
	}
	if bot.bot != "" {
		ev["bot_id"], ev["app_id"] = bot.bot, bot.app
		ev["bot_profile"] = map[string]any{"id": bot.bot, "app_id": bot.app, "deleted": false}
	}
}
