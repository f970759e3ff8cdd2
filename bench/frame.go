package bench

import (
	"bytes"
	"strconv"
)

// The bench reads only what it needs from each server frame, with bytes
// functions on the frame as received: no decoding, no allocation. The
// server hand-encodes every frame the bench acts on with "type" first
// (events: transport/rtm) or "ok" first (acks), so the kind is read from
// the frame's start only; a frame shaped otherwise (channel_joined, built
// by encoding/json with "channel" first) is of no interest to the bench.

// Frame kinds.
const (
	kindOther = iota
	kindMessage
	kindAck // {"ok":true,"reply_to":N,...}
	kindNack
	kindHello
	kindGoodbye
	kindError
)

var (
	prefixMessage = []byte(`{"type":"message",`)
	prefixType    = []byte(`{"type":"`)
	prefixAck     = []byte(`{"ok":true,"reply_to":`)
	prefixNack    = []byte(`{"ok":false,"reply_to":`)
	keyReplyTo    = []byte(`"reply_to":`)
	keyChannel    = []byte(`"channel":"`)
	keyText       = []byte(`"text":"` + textTag)
	keySeq        = []byte(`"seq":`)
	keyCode       = []byte(`"code":`)
)

// frameKind classifies a server frame.
func frameKind(f []byte) int {
	switch {
	case bytes.HasPrefix(f, prefixMessage):
		return kindMessage
	case bytes.HasPrefix(f, prefixAck):
		return kindAck
	case bytes.HasPrefix(f, prefixNack):
		return kindNack
	case !bytes.HasPrefix(f, prefixType):
		return kindOther
	}
	typ := f[len(prefixType):]
	end := bytes.IndexByte(typ, '"')
	if end < 0 {
		return kindOther
	}
	switch string(typ[:end]) { // no allocation: the conversion is only compared
	case "message":
		return kindMessage
	case "hello":
		return kindHello
	case "goodbye":
		return kindGoodbye
	case "error":
		return kindError
	}
	return kindOther
}

// message is what the bench reads of a message event.
type message struct {
	channel []byte // channel id, aliasing the frame
	chanIdx uint64 // from the text
	pubIdx  uint64 // from the text
	sentNs  int64  // intended send time, from the text
	seq     uint64
}

// parseMessage reads a message event of the run. ok is false for a
// message that was not sent by a bench (no text header) or lacks a field.
func parseMessage(f []byte) (m message, ok bool) {
	i := bytes.Index(f, keyChannel)
	if i < 0 {
		return m, false
	}
	ch := f[i+len(keyChannel):]
	j := bytes.IndexByte(ch, '"')
	if j < 0 {
		return m, false
	}
	m.channel = ch[:j]
	i = bytes.Index(f, keyText)
	if i < 0 {
		return m, false
	}
	rest := f[i+len(keyText):]
	var sent uint64
	if m.chanIdx, rest, ok = cutUint(rest, ' '); !ok {
		return m, false
	}
	if m.pubIdx, rest, ok = cutUint(rest, ' '); !ok {
		return m, false
	}
	if sent, _, ok = cutUint(rest, ' '); !ok {
		return m, false
	}
	m.sentNs = int64(sent)
	i = bytes.LastIndex(f, keySeq)
	if i < 0 {
		return m, false
	}
	m.seq, _, ok = cutUint(f[i+len(keySeq):], 0)
	return m, ok
}

// parseReplyTo reads N of "reply_to":N, as in an ack or error ack.
func parseReplyTo(f []byte) (int64, bool) {
	i := bytes.Index(f, keyReplyTo)
	if i < 0 {
		return 0, false
	}
	v, _, ok := cutUint(f[i+len(keyReplyTo):], 0)
	return int64(v), ok
}

// errorCode reads the numeric code of an error ack or event ("code":N),
// or "" when there is none.
func errorCode(f []byte) string {
	i := bytes.Index(f, keyCode)
	if i < 0 {
		return ""
	}
	rest := f[i+len(keyCode):]
	j := 0
	for j < len(rest) && (rest[j] == '-' || rest[j] >= '0' && rest[j] <= '9') {
		j++
	}
	return string(rest[:j])
}

// cutUint parses the decimal digits at the start of b. With sep != 0 the
// digits must be followed by sep, and rest starts after it.
func cutUint(b []byte, sep byte) (v uint64, rest []byte, ok bool) {
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if i == 19 {
			return 0, nil, false // would overflow
		}
		v = v*10 + uint64(b[i]-'0')
	}
	if i == 0 {
		return 0, nil, false
	}
	if sep != 0 {
		if i == len(b) || b[i] != sep {
			return 0, nil, false
		}
		i++
	}
	return v, b[i:], true
}

// textTag starts every bench message's text.
const textTag = "bench "

// appendText appends the text of a publish: the tag, the channel index,
// the publish index and the intended send time (which receivers parse),
// then who sent it (publisher.counter, for people reading the history),
// padded with 'x' to size bytes (a longer header is kept whole). Only
// characters that JSON does not escape are used, so the text is its own
// JSON encoding.
func appendText(b []byte, size int, chanIdx, pubIdx uint64, sentNs int64, publisher int, counter uint64) []byte {
	start := len(b)
	b = append(b, textTag...)
	b = strconv.AppendUint(b, chanIdx, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, pubIdx, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, sentNs, 10)
	b = append(b, " p"...)
	b = strconv.AppendInt(b, int64(publisher), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, counter, 10)
	b = append(b, ' ')
	for len(b)-start < size {
		b = append(b, 'x')
	}
	return b
}
