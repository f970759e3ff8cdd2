package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/ringcast/ringcast/chat"
)

// The log holds every change to a channel as an entry; a message's
// current state (its edit, its reactions, its thread, its deletion) is
// what the entries after it made of it. Append keeps that state
// materialised, in the same transaction as the entries, for the
// messages that have any: a row per changed message and per thread
// reply, keyed by (channel, ts), with the thread's ts for Replies. A
// plain post writes no state row, so the publish path is what it was;
// History reads its page from the log as before and overlays the rows
// of the page's ts range (one index range read).

// StateTx is what a backend's Append transaction offers ApplyEntry.
type StateTx interface {
	// State returns the current state of the message at ts: its state
	// row, or else its entry in the log (ok false: no message there).
	State(ctx context.Context, channel string, ts chat.TS) (m chat.Message, ok bool, err error)
	// PutState writes m's state row (replacing the one at its ts).
	PutState(ctx context.Context, m *chat.Message) error
	// SetChannel applies a channel change (chat.Kind.ChannelKind) to the
	// channel's row: its topic, purpose, name or is_archived.
	SetChannel(ctx context.Context, channel string, k chat.Kind, value string) error
	// SetMember makes user a member of channel (in) or not: a join or
	// leave entry's change to the members table.
	SetMember(ctx context.Context, channel, user string, in bool) error
}

// ApplyEntry updates the state rows entry e changes, in the transaction
// that appends it. A plain top-level message changes nothing.
func ApplyEntry(ctx context.Context, tx StateTx, e *chat.Message) error {
	if k := e.Kind(); k.ChannelKind() {
		return tx.SetChannel(ctx, e.Channel, k, e.More.Name)
	} else if k.MemberKind() {
		return tx.SetMember(ctx, e.Channel, e.User, k == chat.KindJoin)
	}
	switch e.Kind() {
	case chat.KindMessage:
		if !e.IsReply() {
			return nil
		}
		// A reply has a row of its own (Replies reads a thread from the
		// rows), and its parent counts it.
		r := *e
		if err := tx.PutState(ctx, &r); err != nil {
			return err
		}
		return update(ctx, tx, e.Channel, e.ThreadTS, func(p *chat.Message) {
			x := p.Extra()
			p.ThreadTS = p.TS
			x.ReplyCount++
			x.LatestReply = e.TS
			if !slices.Contains(x.ReplyUsers, e.User) {
				x.ReplyUsers = append(x.ReplyUsers, e.User)
			}
		})
	case chat.KindEdit, chat.KindDelete, chat.KindReactionAdd, chat.KindReactionRemove:
		var parent chat.TS
		err := update(ctx, tx, e.Channel, e.More.Target, func(m *chat.Message) {
			Apply(m, e)
			if e.Kind() == chat.KindDelete && m.IsReply() {
				parent = m.ThreadTS
			}
		})
		if err != nil || parent == 0 {
			return err
		}
		return update(ctx, tx, e.Channel, parent, func(p *chat.Message) {
			x := p.Extra()
			if x.ReplyCount > 0 {
				x.ReplyCount--
			}
			if x.ReplyCount == 0 {
				x.ReplyUsers, x.LatestReply = nil, 0
				if x.Deleted {
					p.ThreadTS, x.Subtype = 0, "" // a tombstone with no reply left is gone
				}
			}
		})
	}
	return nil
}

// update applies f to the state of the message at ts, if there is one.
func update(ctx context.Context, tx StateTx, channel string, ts chat.TS, f func(*chat.Message)) error {
	m, ok, err := tx.State(ctx, channel, ts)
	if err != nil || !ok {
		return err
	}
	f(&m)
	return tx.PutState(ctx, &m)
}

// Apply changes m, a message's current state, by e, a later edit,
// delete or reaction entry naming it. m.More is m's own (not shared).
func Apply(m *chat.Message, e *chat.Message) {
	x := m.Extra()
	switch e.Kind() {
	case chat.KindEdit:
		m.Text = e.Text
		x.Blocks, x.Attachments = e.More.Blocks, e.More.Attachments
		x.Edited = &chat.Edited{User: e.User, TS: e.TS}
	case chat.KindDelete:
		x.Deleted = true
		if x.ReplyCount > 0 {
			// A parent keeps its replies under a tombstone.
			m.Text, x.Subtype, x.Blocks, x.Attachments, x.Reactions, x.Edited = chat.TombstoneText, chat.SubtypeTombstone, "", "", nil, nil
		}
	case chat.KindReactionAdd:
		i := slices.IndexFunc(x.Reactions, func(r chat.Reaction) bool { return r.Name == e.More.Name })
		if i < 0 {
			x.Reactions = append(x.Reactions, chat.Reaction{Name: e.More.Name})
			i = len(x.Reactions) - 1
		}
		if !slices.Contains(x.Reactions[i].Users, e.User) {
			x.Reactions[i].Users = append(x.Reactions[i].Users, e.User)
		}
	case chat.KindReactionRemove:
		i := slices.IndexFunc(x.Reactions, func(r chat.Reaction) bool { return r.Name == e.More.Name })
		if i < 0 {
			return
		}
		x.Reactions[i].Users = slices.DeleteFunc(x.Reactions[i].Users, func(u string) bool { return u == e.User })
		if len(x.Reactions[i].Users) == 0 {
			x.Reactions = slices.Delete(x.Reactions, i, i+1)
		}
	}
}

// Visible reports whether a message's state is shown at all: a deleted
// message is gone unless it is a tombstone over replies.
func Visible(m *chat.Message) bool {
	return m.More == nil || !m.More.Deleted || m.More.Subtype == chat.SubtypeTombstone
}

// A state row's body is a format byte, then the message's seq, user,
// text, thread_ts and client_msg_id, then its More or a 0 byte:
//
//	byte 1+kind, uvarint target, strings subtype, name, blocks,
//	attachments, author, previous text; edited (byte 0, or 1, user, ts);
//	reactions (uvarint count, each: name, uvarint count, users);
//	uvarint reply count; reply users (uvarint count, users); uvarint
//	latest reply; byte deleted
//
// (uvarints; strings as uvarint length and bytes). Binary rather than
// JSON: a history page decodes every changed message's row, and JSON was
// most of what a page of a changed channel cost beyond a plain one.
const stateFormat = 1

// EncodeState is the body of m's state row.
func EncodeState(m *chat.Message) ([]byte, error) {
	b := []byte{stateFormat}
	b = binary.AppendUvarint(b, m.Seq)
	b = appendStr(b, m.User)
	b = appendStr(b, m.Text)
	b = binary.AppendUvarint(b, uint64(m.ThreadTS))
	b = appendStr(b, m.ClientMsgID)
	x := m.More
	if x == nil {
		return append(b, 0), nil
	}
	b = append(b, 1+byte(x.Kind))
	b = binary.AppendUvarint(b, uint64(x.Target))
	for _, s := range [...]string{x.Subtype, x.Name, x.Blocks, x.Attachments, x.Author, x.PrevText} {
		b = appendStr(b, s)
	}
	if x.Edited == nil {
		b = append(b, 0)
	} else {
		b = appendStr(append(b, 1), x.Edited.User)
		b = binary.AppendUvarint(b, uint64(x.Edited.TS))
	}
	b = binary.AppendUvarint(b, uint64(len(x.Reactions)))
	for _, r := range x.Reactions {
		b = appendStrs(appendStr(b, r.Name), r.Users)
	}
	b = binary.AppendUvarint(b, uint64(x.ReplyCount))
	b = appendStrs(b, x.ReplyUsers)
	b = binary.AppendUvarint(b, uint64(x.LatestReply))
	if x.Deleted {
		return append(b, 1), nil
	}
	return append(b, 0), nil
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendStrs(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

// stateReader reads a state row's body; the first error sticks.
type stateReader struct {
	s   string
	bad bool
}

func (r *stateReader) uvarint() uint64 {
	v, n := binary.Uvarint([]byte(r.s[:min(len(r.s), binary.MaxVarintLen64)]))
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.s = r.s[n:]
	return v
}

func (r *stateReader) byte() byte {
	if len(r.s) == 0 {
		r.bad = true
		return 0
	}
	c := r.s[0]
	r.s = r.s[1:]
	return c
}

func (r *stateReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.bad = true
		return ""
	}
	v := r.s[:n]
	r.s = r.s[n:]
	return v
}

func (r *stateReader) strs() []string {
	n := r.uvarint()
	if n > uint64(len(r.s)) { // each takes a byte at least
		r.bad = true
		return nil
	}
	var out []string
	for range n {
		out = append(out, r.str())
	}
	return out
}

// Rows is a query result (database/sql's and pgx's both are).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// EachState calls f with the state of each (ts, body) row of a channel's
// state query while f returns true. The caller closes rows.
func EachState(rows Rows, channel string, f func(chat.Message) bool) error {
	for rows.Next() {
		var ts int64
		var body []byte
		if err := rows.Scan(&ts, &body); err != nil {
			return err
		}
		m, err := DecodeState(channel, chat.TS(ts), body)
		if err != nil {
			return err
		}
		if !f(m) {
			return nil
		}
	}
	return rows.Err()
}

// DecodeState reads a state row of the message at (channel, ts). Every
// string shares one copy of the body.
func DecodeState(channel string, ts chat.TS, body []byte) (chat.Message, error) {
	r := stateReader{s: string(body)}
	m := chat.Message{Channel: channel, TS: ts}
	if r.byte() != stateFormat {
		r.bad = true
	}
	m.Seq, m.User, m.Text, m.ThreadTS, m.ClientMsgID = r.uvarint(), r.str(), r.str(), chat.TS(r.uvarint()), r.str()
	if k := r.byte(); k != 0 && !r.bad {
		x := &chat.More{Kind: chat.Kind(k - 1), Target: chat.TS(r.uvarint())}
		for _, f := range [...]*string{&x.Subtype, &x.Name, &x.Blocks, &x.Attachments, &x.Author, &x.PrevText} {
			*f = r.str()
		}
		if r.byte() == 1 {
			x.Edited = &chat.Edited{User: r.str(), TS: chat.TS(r.uvarint())}
		}
		n := r.uvarint()
		if n > uint64(len(r.s)) {
			r.bad = true
			n = 0
		}
		for range n {
			x.Reactions = append(x.Reactions, chat.Reaction{Name: r.str(), Users: r.strs()})
		}
		x.ReplyCount = int(r.uvarint())
		x.ReplyUsers = r.strs()
		x.LatestReply = chat.TS(r.uvarint())
		x.Deleted = r.byte() == 1
		m.More = x
	}
	if r.bad || len(r.s) != 0 {
		return chat.Message{}, fmt.Errorf("%w: the state of %s %s", ErrCorruptLog, channel, ts)
	}
	return m, nil
}

// FindTS returns the log's entry with ts exactly (ok false: none).
func FindTS(ctx context.Context, r LogReader, channel string, ts chat.TS) (chat.Message, bool, error) {
	last, _, err := ReadLast(ctx, r, channel)
	if err != nil || last == 0 || ts <= 0 {
		return chat.Message{}, false, err
	}
	seq, err := firstSeq(ctx, r, channel, ts, false, last)
	if err != nil || seq > last {
		return chat.Message{}, false, err
	}
	var m chat.Message
	found := false
	err = r.Read(ctx, channel, seq, seq, false, 1, func(x chat.Message) bool {
		m, found = x, x.TS == ts
		return false
	})
	return m, found, err
}

// StateReader is what a backend answers from its state rows.
type StateReader interface {
	// States calls f with the state rows of the channel's messages with
	// ts in [from, to].
	States(ctx context.Context, channel string, from, to chat.TS, f func(chat.Message)) error
	// Thread calls f with the state rows of thread's messages (its
	// parent and its replies) with ts >= from, oldest first, at most
	// limit of them, while f returns true.
	Thread(ctx context.Context, channel string, thread, from chat.TS, limit int, f func(chat.Message) bool) error
}

// ReadMessageAt implements Log's MessageAt: the current state of the
// message at ts (ErrNotFound: none, or not a message, or deleted and
// gone).
func ReadMessageAt(ctx context.Context, r LogReader, sr StateReader, channel string, ts chat.TS) (chat.Message, error) {
	var m chat.Message
	found := false
	if err := sr.States(ctx, channel, ts, ts, func(x chat.Message) { m, found = x, true }); err != nil {
		return m, err
	}
	if !found {
		var err error
		if m, found, err = FindTS(ctx, r, channel, ts); err != nil {
			return m, err
		}
	}
	if !found || m.Kind() != chat.KindMessage || !Visible(&m) {
		return chat.Message{}, ErrNotFound
	}
	return m, nil
}

// ReadReplies implements Log's Replies.
func ReadReplies(ctx context.Context, r LogReader, sr StateReader, channel string, q RepliesQuery) ([]chat.Message, bool, error) {
	parent, err := ReadMessageAt(ctx, r, sr, channel, q.Thread)
	if err != nil {
		return nil, false, err
	}
	if parent.IsReply() {
		return nil, false, ErrNotFound
	}
	var out []chat.Message
	if q.After == 0 {
		out = append(out, parent)
	}
	if parent.More == nil || parent.More.ReplyCount == 0 {
		return out, false, nil
	}
	from := max(q.After+1, q.Thread+1)
	more := false
	for {
		n, last := 0, chat.TS(0)
		err := sr.Thread(ctx, channel, q.Thread, from, q.Limit+1, func(m chat.Message) bool {
			n++
			last = m.TS
			if m.TS == q.Thread || !Visible(&m) {
				return true
			}
			if len(out) == q.Limit {
				more = true
				return false
			}
			out = append(out, m)
			return true
		})
		if err != nil {
			return nil, false, err
		}
		if more || n < q.Limit+1 {
			return out, more, nil
		}
		from = last + 1
	}
}

// RepliesQuery bounds a Replies read: the thread's parent ts, replies
// after After (0: from the start, the parent first), at most Limit
// messages (the parent counts).
type RepliesQuery struct {
	Thread, After chat.TS
	Limit         int
}
