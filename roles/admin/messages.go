package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/cluster"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/transport/rtm"
)

// The methods that change messages (chat.update, chat.delete,
// reactions.*) and read threads. The checks that need the message's
// current state (its author, its reactions) are the channel owner's,
// which serialises them per channel; here are the arguments' own.

// richArg reads blocks or attachments: a JSON array of objects, stored
// compacted as given ("" when absent or empty); bad is the error Slack
// answers for a bad one.
func richArg(v string, bad chat.Error) (string, error) {
	if v == "" {
		return "", nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(v), &items); err != nil {
		return "", bad
	}
	for _, it := range items {
		if len(it) == 0 || it[0] != '{' {
			return "", bad
		}
	}
	if len(items) == 0 {
		return "", nil
	}
	var out bytes.Buffer
	if err := json.Compact(&out, []byte(v)); err != nil || out.Len() > cluster.MaxRich {
		return "", bad
	}
	return out.String(), nil
}

// richArgs reads a call's blocks and attachments.
func richArgs(c *call) (blocks, attachments string, err error) {
	if blocks, err = richArg(c.args["blocks"], "invalid_blocks"); err != nil {
		return "", "", err
	}
	attachments, err = richArg(c.args["attachments"], "invalid_attachments")
	return blocks, attachments, err
}

// tsArg reads a message ts argument; a bad one names no message.
func tsArg(c *call, k string) (chat.TS, error) {
	v := c.args[k]
	if v == "" {
		return 0, chat.ErrBadRequest
	}
	ts, err := chat.ParseTS(v)
	if err != nil || ts == 0 {
		return 0, chat.Error("message_not_found")
	}
	return ts, nil
}

// validEmoji applies Slack's rule for reaction names: lower-case letters,
// digits, underscore, hyphen, plus and apostrophe, at most 100 of them, without colons
// (a skin tone is a suffix "::skin-tone-2" ... "::skin-tone-6").
func validEmoji(name string) bool {
	base, tone, toned := strings.Cut(name, "::")
	if toned && (len(tone) != len("skin-tone-2") || !strings.HasPrefix(tone, "skin-tone-") || tone[10] < '2' || tone[10] > '6') {
		return false
	}
	if base == "" || len(base) > 100 {
		return false
	}
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-', r == '+', r == '\'':
		default:
			return false
		}
	}
	return true
}

// change sends an edit, delete or reaction of the message at the call's
// ts argument (tsKey) to the channel's owner. The entry's seq is
// ringcast's addition to the response, as on every message.
func (a *API) change(c *call, op chat.Kind, tsKey string, fill func(*cluster.Change) error) (changed, error) {
	var d changed
	var err error
	if d.ch, err = a.lookup(c, c.args["channel"], visible); err != nil {
		return d, err
	}
	if d.target, err = tsArg(c, tsKey); err != nil {
		return d, err
	}
	m := cluster.Change{Op: op, Channel: d.ch.ID, User: c.user.ID, Target: d.target}
	if fill != nil {
		if err := fill(&m); err != nil {
			return d, err
		}
	}
	d.seq, d.ts, err = a.cfg.Channels.Change(c.ctx, m)
	return d, err
}

// changed is what a change did: to which channel and message, as which
// entry.
type changed struct {
	ch         chat.Channel
	target, ts chat.TS
	seq        uint64
}

func (a *API) chatUpdate(c *call) (map[string]any, error) {
	if err := a.limit(limitMessages, a.messages, c); err != nil {
		return nil, err
	}
	var edit cluster.Change
	d, err := a.change(c, chat.KindEdit, "ts", func(m *cluster.Change) error {
		blocks, attachments, err := richArgs(c)
		if err != nil {
			return err
		}
		text := c.args["text"]
		switch {
		case text == "" && blocks == "" && attachments == "":
			return chat.ErrNoText
		case utf8.RuneCountInString(text) > rtm.MaxText:
			return chat.ErrMsgTooLong
		}
		m.Text, m.Blocks, m.Attachments = text, blocks, attachments
		edit = *m
		return nil
	})
	if err != nil {
		return nil, err
	}
	msg := chat.Message{Channel: d.ch.ID, TS: d.target, User: c.user.ID, Text: edit.Text,
		More: &chat.More{Blocks: edit.Blocks, Attachments: edit.Attachments, Edited: &chat.Edited{User: c.user.ID, TS: d.ts}}}
	o, err := a.messageObject(c, &msg)
	if err != nil {
		return nil, err
	}
	delete(o, "seq") // the message's seq is its post's; the edit's is below
	return map[string]any{"channel": d.ch.ID, "ts": d.target.String(), "text": edit.Text, "message": o, "seq": d.seq}, nil
}

func (a *API) chatDelete(c *call) (map[string]any, error) {
	if err := a.limit(limitMessages, a.messages, c); err != nil {
		return nil, err
	}
	d, err := a.change(c, chat.KindDelete, "ts", nil)
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": d.ch.ID, "ts": d.target.String(), "seq": d.seq}, nil
}

// reaction is reactions.add and reactions.remove.
func reaction(op chat.Kind) func(*API, *call) (map[string]any, error) {
	return func(a *API, c *call) (map[string]any, error) {
		d, err := a.change(c, op, "timestamp", func(m *cluster.Change) error {
			name := c.args["name"]
			if name == "" {
				return chat.ErrBadRequest
			}
			if !validEmoji(name) {
				return chat.Error("invalid_name")
			}
			m.Name = name
			return nil
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"seq": d.seq}, nil
	}
}

func (a *API) reactionsGet(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], visible)
	if err != nil {
		return nil, err
	}
	ts, err := tsArg(c, "timestamp")
	if err != nil {
		return nil, err
	}
	m, err := a.cfg.Store.MessageAt(c.ctx, ch.ID, ts)
	if errors.Is(err, store.ErrNotFound) {
		return nil, chat.Error("message_not_found")
	}
	if err != nil {
		return nil, err
	}
	o, err := a.messageObject(c, &m)
	if err != nil {
		return nil, err
	}
	return map[string]any{"type": "message", "channel": ch.ID, "message": o}, nil
}

func (a *API) replies(c *call) (map[string]any, error) {
	ch, err := a.lookup(c, c.args["channel"], a.readNeed(c))
	if err != nil {
		return nil, err
	}
	v := c.args["ts"]
	if v == "" {
		return nil, chat.ErrBadRequest
	}
	thread, err := chat.ParseTS(v)
	if err != nil {
		return nil, chat.ErrThreadNotFound
	}
	limit, err := c.args.limit(100, 999)
	if err != nil {
		return nil, err
	}
	q := store.RepliesQuery{Thread: thread, Limit: limit}
	if cur := c.args["cursor"]; cur != "" {
		v, err := parseCursor(cur, "ts")
		if err != nil {
			return nil, err
		}
		if q.After, err = chat.ParseTS(v); err != nil || q.After <= thread {
			return nil, chat.Error("invalid_cursor")
		}
	}
	msgs, more, err := a.cfg.Store.Replies(c.ctx, ch.ID, q)
	if errors.Is(err, store.ErrNotFound) {
		return nil, chat.ErrThreadNotFound
	}
	if err != nil {
		return nil, err
	}
	out, more, next, err := a.messagePage(c, msgs, more)
	if err != nil {
		return nil, err
	}
	return map[string]any{"messages": out, "has_more": more, "response_metadata": meta(next)}, nil
}

// readNeed is what reading a channel's messages needs: a person may
// read a public channel they are not in (as in Slack); a bot must be in
// it.
func (a *API) readNeed(c *call) need {
	if c.user.IsBot {
		return membership
	}
	return visible
}
