package internode

import (
	"encoding/binary"
	"fmt"

	"github.com/ringcast/ringcast/chat"
)

// The internode protocol: every message a link carries, with its fields
// and what they mean. A field means the same thing wherever it appears.
// Requests go from the dialing node to the listening one; a request with
// a reply carries a request id (non-zero) and is answered by a KindReply
// envelope with the same id, whose body is the request's reply type.
// Events come back, unasked, on the link the request came on.
//
// Errors in replies are Slack-style error strings (chat.Error): "" means
// success; wrong_owner, conflict and service_unavailable mean the
// request had no effect and may be sent again (see package cluster).
//
// Adding a field or a message is a new protocol version: list it in
// Versions, and have senders keep to what the link's Version speaks.

// Protocol versions. A link speaks the highest version both ends list.
const (
	// Version1 is the first typed protocol (ringcast 0.x, issue 11).
	Version1 uint16 = 1
	// Version2 adds PostedAt, a Posted with its commit time (issue 17:
	// the gateways' delivery latency).
	Version2 uint16 = 2
	// Version3 adds Change and Publish's More (issue 14). Publish's body
	// changed, so a Version3 node does not speak the versions before it:
	// a cluster moves to it with a full restart, not a rolling one
	// (nodes of different versions refuse to link, naming them).
	Version3 uint16 = 3
	// Version4 makes a member joining or leaving an entry of the
	// channel's log (issue 14): PostedMember carries it to the gateways,
	// MemberReply's Seq is the last entry's, and ChannelEvent no longer
	// reports joins and leaves. Like Version3, a full restart.
	Version4 uint16 = 4
)

// Versions are the protocol versions this build speaks, lowest first.
var Versions = []uint16{Version4}

// Kind says what an envelope carries.
type Kind byte

// Message kinds. Their numbers are the wire's and never change meaning.
const (
	// Handshake (handshake.go): the first messages of every link.
	KindHello Kind = 1 // both ways: Hello
	KindProof Kind = 2 // dialer -> listener: Proof

	// KindReply answers the request with the same id; its body is that
	// request's reply type (SubscribeReply for a Subscribe, ...).
	KindReply Kind = 3

	// Channel role requests (gateway or admin -> the channel's owner).
	KindSubscribe   Kind = 10 // Subscribe -> SubscribeReply
	KindUnsubscribe Kind = 11 // Unsubscribe, one-way
	KindPublish     Kind = 12 // Publish -> PublishReply
	KindMember      Kind = 13 // Member -> MemberReply
	KindTyping      Kind = 14 // Typing, one-way
	KindChange      Kind = 15 // Change -> ChangeReply

	// Channel events (owner -> subscribed gateway), in the order the
	// owner produced them.
	KindPosted       Kind = 20 // Posted
	KindResubscribe  Kind = 21 // Resubscribe
	KindChannelEvent Kind = 22 // ChannelEvent
	KindPostedAt     Kind = 23 // PostedAt (Version2; Posted on a Version1 link)
	KindPostedMember Kind = 24 // PostedMember (Version4)

	// Presence role requests (gateway, admin or channel owner -> the
	// user's presence node).
	KindReport    Kind = 30 // Report, one-way
	KindWatch     Kind = 31 // Watch -> WatchReply
	KindUnwatch   Kind = 32 // Unwatch, one-way
	KindQuery     Kind = 33 // Query -> QueryReply
	KindSetAway   Kind = 34 // SetAway -> SetAwayReply
	KindUserEvent Kind = 35 // UserEvent, one-way
	KindLease     Kind = 36 // Lease, one-way
	KindSynced    Kind = 37 // Synced, one-way

	// Presence events (presence node -> gateway).
	KindPresenceChange Kind = 40 // PresenceChange
	KindUserNotice     Kind = 41 // UserNotice
	KindAwayChange     Kind = 42 // AwayChange
	KindResync         Kind = 43 // Resync
)

var kindNames = map[Kind]string{
	KindHello: "hello", KindProof: "proof", KindReply: "reply",
	KindSubscribe: "subscribe", KindUnsubscribe: "unsubscribe", KindPublish: "publish",
	KindMember: "member", KindTyping: "typing", KindChange: "change",
	KindPosted: "posted", KindResubscribe: "resubscribe", KindChannelEvent: "channel event",
	KindPostedAt: "posted at", KindPostedMember: "posted member",
	KindReport: "report", KindWatch: "watch", KindUnwatch: "unwatch", KindQuery: "query",
	KindSetAway: "set away", KindUserEvent: "user event", KindLease: "lease", KindSynced: "synced",
	KindPresenceChange: "presence change", KindUserNotice: "user notice", KindAwayChange: "away change",
	KindResync: "resync",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Message is a typed message: its kind and how its body is encoded. Each
// message type also has a Decode method on its pointer.
type Message interface {
	Kind() Kind
	AppendBody(b []byte) []byte
}

// ---- Handshake ----

// Hello opens a link, from both sides. The dialer's carries no Proof;
// the listener's proves it knows the cluster key (see handshake.go).
type Hello struct {
	Versions []uint16 // protocol versions the sender speaks
	Name     string   // the sender's node name
	Nonce    []byte   // fresh random bytes, NonceSize of them
	Proof    []byte   // listener only: its HMAC over the exchange
}

// Proof is the dialer's HMAC over the exchange, its last handshake
// message.
type Proof struct {
	MAC []byte
}

// ---- Channel role ----

// Subscribe asks the channel's owner for every later message and event
// of Channel on this link.
type Subscribe struct {
	Channel string
}

// SubscribeReply: Seq is the channel's last committed seq; every message
// after it, and every event produced after it, follows on the link.
type SubscribeReply struct {
	Err string
	Seq uint64
}

// Unsubscribe ends a subscription made on this link.
type Unsubscribe struct {
	Channel string
}

// Publish asks the owner to sequence and commit a message.
type Publish struct {
	Channel     string
	User        string
	Text        string
	ThreadTS    chat.TS // 0: not in a thread
	ClientMsgID string  // "": none; else a retry with the same id returns the original
	// More is a message's subtype (thread_broadcast), blocks and
	// attachments as JSON (empty: a plain message).
	More []byte
}

// Change asks the owner to check and commit an edit, a delete or a
// reaction (chat.Kind) of the message at Target by User.
type Change struct {
	Op          chat.Kind
	Channel     string
	User        string
	Target      chat.TS
	Text        string // an edit's new text
	Name        string // a reaction's name
	Blocks      string // an edit's blocks, a JSON array ("": none)
	Attachments string // an edit's attachments, a JSON array ("": none)
}

// ChangeReply answers a Change once its entry is durable: the entry's
// seq and ts.
type ChangeReply struct {
	Err string
	Seq uint64
	TS  chat.TS
}

// PublishReply answers a Publish once the message is durable: its seq
// and ts.
type PublishReply struct {
	Err string
	Seq uint64
	TS  chat.TS
}

// MemberOp is a membership change.
type MemberOp byte

// Membership changes.
const (
	MemberJoin   MemberOp = 1 // Actor joins
	MemberLeave  MemberOp = 2 // Actor leaves
	MemberInvite MemberOp = 3 // Actor adds Users
	MemberKick   MemberOp = 4 // Actor removes Users[0] (Version3)
)

// Member changes a channel's member set, durably, at its owner.
type Member struct {
	Op      MemberOp
	Channel string
	Actor   string
	Users   []string // MemberInvite: who is added
}

// MemberReply: Seq is the seq of the change's last entry (with
// already_in_channel and not_in_channel, the channel's last committed
// seq).
type MemberReply struct {
	Err string
	Seq uint64
}

// Typing says User is typing in Channel. Not stored, not answered.
type Typing struct {
	Channel string
	User    string
}

// Posted is a committed message of a subscribed channel: Payload is its
// RTM message event, encoded once by the owner for every recipient.
type Posted struct {
	Channel string
	Seq     uint64
	Payload []byte
	// Committed is when the owner committed the message (unix
	// nanoseconds), for the gateways' delivery latency; 0 when unknown.
	// Only PostedAt carries it: Posted's encoding leaves it out.
	Committed int64
}

// PostedAt is Posted with its Committed time, on links that speak
// Version2 (SendPosted picks).
type PostedAt Posted

// PostedMember is a committed entry of a member joining or leaving
// (chat.KindJoin, chat.KindLeave), with what a gateway needs to deliver
// it: User is who joined or left; Event (member_joined_channel or
// member_left_channel) goes before Payload (the channel_join or
// channel_leave message) to the channel's sessions; for a leave, User's
// own sessions get Self (channel_left or group_left) instead, and
// nothing of the channel after it. A gateway reading the entry from the
// store makes the same frames from it (package rtm).
type PostedMember struct {
	Posted
	User  string
	Left  bool
	Event []byte
	Self  []byte
}

// Resubscribe says the owner dropped Channel's state (it lost ownership
// or was fenced): subscribe again, to whoever owns it now.
type Resubscribe struct {
	Channel string
}

// Activity is what a ChannelEvent reports.
type Activity byte

// Channel activities.
const (
	ActivityTyping Activity = 1 // User is typing; to the other members
	// 2 and 3 were a join and a leave before Version4, which made them
	// entries of the log (PostedMember).
)

// ChannelEvent is an event of a subscribed channel that is not a
// message. After is the owner's last committed seq when it happened:
// the gateway delivers it after message After and before After+1.
// Payload is its RTM event.
type ChannelEvent struct {
	Channel  string
	After    uint64
	Activity Activity
	User     string
	Payload  []byte
}

// ---- Presence role ----

// Report sets the sending gateway's number of sessions of User. Away is
// the user's away flag as the gateway knows it; Round is the gateway's
// resync round (see Synced).
type Report struct {
	User     string
	Sessions uint32
	Away     bool
	Round    uint64
}

// Watch subscribes this link to the presence of Users; changes follow as
// PresenceChange events.
type Watch struct {
	Users []string
}

// WatchReply: Active holds each watched user's state, in order.
type WatchReply struct {
	Err    string
	Active []bool
}

// Unwatch ends watches made on this link.
type Unwatch struct {
	Users []string
}

// Query asks the presence of Users (none: a barrier, answered once the
// node has handled everything sent before it on the link).
type Query struct {
	Users []string
}

// QueryReply: Active per user; for the first user also its sessions
// everywhere, last activity (unix seconds) and away flag.
type QueryReply struct {
	Err         string
	Active      []bool
	Connections uint32
	LastActive  int64
	ManualAway  bool
}

// SetAway records that User set presence to away (or back to auto).
type SetAway struct {
	User string
	Away bool
}

// SetAwayReply answers a SetAway.
type SetAwayReply struct {
	Err string
}

// UserEvent asks the user's presence node to deliver Payload, an RTM
// event named Name, to every session of User; it goes on to each
// gateway holding one as a UserNotice. For Name "channel_joined" the
// gateways also attach the sessions to Channel after Seq.
type UserEvent struct {
	User    string
	Channel string
	Seq     uint64
	Name    string
	Payload []byte
}

// Lease renews every report of the sending gateway.
type Lease struct{}

// Synced says the sending gateway has re-reported every user it has, in
// Round, against the presence ring Ring (its member names).
type Synced struct {
	Round uint64
	Ring  []string
}

// PresenceChange tells a watching gateway User's new state.
type PresenceChange struct {
	User   string
	Active bool
}

// UserNotice is a UserEvent on its way to a gateway with sessions of
// User; same fields.
type UserNotice UserEvent

// AwayChange tells a gateway with sessions of User that they set away
// (or back to auto), or that the flag it reported for them is not the
// user's (a new session's rtm.connect ticket predates their last
// SetAway).
type AwayChange struct {
	User string
	Away bool
}

// Resync says the presence node dropped the receiving gateway's sessions
// (it left the view or its lease lapsed) while the gateway is still
// there: it must report every user again.
type Resync struct{}

// ChannelJoined is the Name of a UserEvent that attaches the user's
// sessions to a channel they joined.
const ChannelJoined = "channel_joined"

// ---- Encodings, in the order of the list above ----

func (Hello) Kind() Kind { return KindHello }
func (m Hello) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(m.Versions)))
	for _, v := range m.Versions {
		b = binary.AppendUvarint(b, uint64(v))
	}
	b = appendStr(b, m.Name)
	b = appendBytes(b, m.Nonce)
	return appendBytes(b, m.Proof)
}
func (m *Hello) Decode(body []byte) error {
	d := decoder{b: body}
	if n := d.count(); n > 0 {
		m.Versions = make([]uint16, n)
		for i := range m.Versions {
			v := d.uvarint()
			if v > 0xFFFF {
				d.fail()
			}
			m.Versions[i] = uint16(v)
		}
	}
	m.Name, m.Nonce, m.Proof = d.str(), d.bytes(), d.bytes()
	return d.done(KindHello)
}

func (Proof) Kind() Kind                   { return KindProof }
func (m Proof) AppendBody(b []byte) []byte { return appendBytes(b, m.MAC) }
func (m *Proof) Decode(body []byte) error {
	d := decoder{b: body}
	m.MAC = d.bytes()
	return d.done(KindProof)
}

func (Subscribe) Kind() Kind                   { return KindSubscribe }
func (m Subscribe) AppendBody(b []byte) []byte { return appendStr(b, m.Channel) }
func (m *Subscribe) Decode(body []byte) error {
	d := decoder{b: body}
	m.Channel = d.str()
	return d.done(KindSubscribe)
}

func (SubscribeReply) Kind() Kind { return KindReply }
func (m SubscribeReply) AppendBody(b []byte) []byte {
	return binary.AppendUvarint(appendStr(b, m.Err), m.Seq)
}
func (m *SubscribeReply) Decode(body []byte) error {
	d := decoder{b: body}
	m.Err, m.Seq = d.str(), d.uvarint()
	return d.done(KindReply)
}

func (Unsubscribe) Kind() Kind                   { return KindUnsubscribe }
func (m Unsubscribe) AppendBody(b []byte) []byte { return appendStr(b, m.Channel) }
func (m *Unsubscribe) Decode(body []byte) error {
	d := decoder{b: body}
	m.Channel = d.str()
	return d.done(KindUnsubscribe)
}

func (Publish) Kind() Kind { return KindPublish }
func (m Publish) AppendBody(b []byte) []byte {
	b = appendStr(b, m.Channel)
	b = appendStr(b, m.User)
	b = appendStr(b, m.Text)
	b = binary.AppendVarint(b, int64(m.ThreadTS))
	b = appendStr(b, m.ClientMsgID)
	return appendStr(b, string(m.More))
}
func (m *Publish) Decode(body []byte) error {
	d := decoder{b: body}
	m.Channel, m.User, m.Text = d.str(), d.str(), d.str()
	m.ThreadTS, m.ClientMsgID = chat.TS(d.varint()), d.str()
	if more := d.str(); more != "" { // a copy: the frame's buffer is reused
		m.More = []byte(more)
	}
	return d.done(KindPublish)
}

func (Change) Kind() Kind { return KindChange }
func (m Change) AppendBody(b []byte) []byte {
	b = append(b, byte(m.Op))
	b = appendStr(b, m.Channel)
	b = appendStr(b, m.User)
	b = binary.AppendVarint(b, int64(m.Target))
	b = appendStr(b, m.Text)
	b = appendStr(b, m.Name)
	b = appendStr(b, m.Blocks)
	return appendStr(b, m.Attachments)
}
func (m *Change) Decode(body []byte) error {
	d := decoder{b: body}
	m.Op = chat.Kind(d.byte())
	m.Channel, m.User, m.Target = d.str(), d.str(), chat.TS(d.varint())
	m.Text, m.Name, m.Blocks, m.Attachments = d.str(), d.str(), d.str(), d.str()
	return d.done(KindChange)
}

func (ChangeReply) Kind() Kind { return KindReply }
func (m ChangeReply) AppendBody(b []byte) []byte {
	b = appendStr(b, m.Err)
	b = binary.AppendUvarint(b, m.Seq)
	return binary.AppendVarint(b, int64(m.TS))
}
func (m *ChangeReply) Decode(body []byte) error {
	d := decoder{b: body}
	m.Err, m.Seq, m.TS = d.str(), d.uvarint(), chat.TS(d.varint())
	return d.done(KindReply)
}

func (PublishReply) Kind() Kind { return KindReply }
func (m PublishReply) AppendBody(b []byte) []byte {
	b = appendStr(b, m.Err)
	b = binary.AppendUvarint(b, m.Seq)
	return binary.AppendVarint(b, int64(m.TS))
}
func (m *PublishReply) Decode(body []byte) error {
	d := decoder{b: body}
	m.Err, m.Seq, m.TS = d.str(), d.uvarint(), chat.TS(d.varint())
	return d.done(KindReply)
}

func (Member) Kind() Kind { return KindMember }
func (m Member) AppendBody(b []byte) []byte {
	b = append(b, byte(m.Op))
	b = appendStr(b, m.Channel)
	b = appendStr(b, m.Actor)
	return appendStrs(b, m.Users)
}
func (m *Member) Decode(body []byte) error {
	d := decoder{b: body}
	m.Op = MemberOp(d.byte())
	m.Channel, m.Actor, m.Users = d.str(), d.str(), d.strs()
	return d.done(KindMember)
}

func (MemberReply) Kind() Kind { return KindReply }
func (m MemberReply) AppendBody(b []byte) []byte {
	return binary.AppendUvarint(appendStr(b, m.Err), m.Seq)
}
func (m *MemberReply) Decode(body []byte) error {
	d := decoder{b: body}
	m.Err, m.Seq = d.str(), d.uvarint()
	return d.done(KindReply)
}

func (Typing) Kind() Kind                   { return KindTyping }
func (m Typing) AppendBody(b []byte) []byte { return appendStr(appendStr(b, m.Channel), m.User) }
func (m *Typing) Decode(body []byte) error {
	d := decoder{b: body}
	m.Channel, m.User = d.str(), d.str()
	return d.done(KindTyping)
}

func (Posted) Kind() Kind { return KindPosted }
func (m Posted) AppendBody(b []byte) []byte {
	b = appendStr(b, m.Channel)
	b = binary.AppendUvarint(b, m.Seq)
	return appendBytes(b, m.Payload)
}
func (m *Posted) Decode(body []byte) error {
	d := decoder{b: body}
	m.Channel, m.Seq, m.Payload, m.Committed = d.str(), d.uvarint(), d.bytes(), 0
	return d.done(KindPosted)
}

func (PostedAt) Kind() Kind { return KindPostedAt }
func (m PostedAt) AppendBody(b []byte) []byte {
	return binary.AppendVarint(Posted(m).AppendBody(b), m.Committed)
}
func (m *PostedAt) Decode(body []byte) error {
	d := decoder{b: body}
	m.Channel, m.Seq, m.Payload, m.Committed = d.str(), d.uvarint(), d.bytes(), d.varint()
	return d.done(KindPostedAt)
}

// SendPosted sends m on l: as PostedAt where l speaks Version2, else as
// Posted (without its commit time).
func SendPosted(l *Link, m Posted) error {
	if l.Version() >= Version2 {
		return Send(l, PostedAt(m))
	}
	return Send(l, m)
}

func (PostedMember) Kind() Kind { return KindPostedMember }
func (m PostedMember) AppendBody(b []byte) []byte {
	b = PostedAt(m.Posted).AppendBody(b)
	b = appendStr(b, m.User)
	b = appendBool(b, m.Left)
	b = appendBytes(b, m.Event)
	return appendBytes(b, m.Self)
}
func (m *PostedMember) Decode(body []byte) error {
	d := decoder{b: body}
	m.Channel, m.Seq, m.Payload, m.Committed = d.str(), d.uvarint(), d.bytes(), d.varint()
	m.User, m.Left, m.Event, m.Self = d.str(), d.bool(), d.bytes(), d.bytes()
	return d.done(KindPostedMember)
}

func (Resubscribe) Kind() Kind                   { return KindResubscribe }
func (m Resubscribe) AppendBody(b []byte) []byte { return appendStr(b, m.Channel) }
func (m *Resubscribe) Decode(body []byte) error {
	d := decoder{b: body}
	m.Channel = d.str()
	return d.done(KindResubscribe)
}

func (ChannelEvent) Kind() Kind { return KindChannelEvent }
func (m ChannelEvent) AppendBody(b []byte) []byte {
	b = appendStr(b, m.Channel)
	b = binary.AppendUvarint(b, m.After)
	b = append(b, byte(m.Activity))
	b = appendStr(b, m.User)
	return appendBytes(b, m.Payload)
}
func (m *ChannelEvent) Decode(body []byte) error {
	d := decoder{b: body}
	m.Channel, m.After = d.str(), d.uvarint()
	m.Activity = Activity(d.byte())
	m.User, m.Payload = d.str(), d.bytes()
	return d.done(KindChannelEvent)
}

func (Report) Kind() Kind { return KindReport }
func (m Report) AppendBody(b []byte) []byte {
	b = appendStr(b, m.User)
	b = binary.AppendUvarint(b, uint64(m.Sessions))
	b = appendBool(b, m.Away)
	return binary.AppendUvarint(b, m.Round)
}
func (m *Report) Decode(body []byte) error {
	d := decoder{b: body}
	m.User, m.Sessions = d.str(), uint32(d.uvarint())
	m.Away, m.Round = d.bool(), d.uvarint()
	return d.done(KindReport)
}

func (Watch) Kind() Kind                   { return KindWatch }
func (m Watch) AppendBody(b []byte) []byte { return appendStrs(b, m.Users) }
func (m *Watch) Decode(body []byte) error {
	d := decoder{b: body}
	m.Users = d.strs()
	return d.done(KindWatch)
}

func (WatchReply) Kind() Kind                   { return KindReply }
func (m WatchReply) AppendBody(b []byte) []byte { return appendBools(appendStr(b, m.Err), m.Active) }
func (m *WatchReply) Decode(body []byte) error {
	d := decoder{b: body}
	m.Err, m.Active = d.str(), d.bools()
	return d.done(KindReply)
}

func (Unwatch) Kind() Kind                   { return KindUnwatch }
func (m Unwatch) AppendBody(b []byte) []byte { return appendStrs(b, m.Users) }
func (m *Unwatch) Decode(body []byte) error {
	d := decoder{b: body}
	m.Users = d.strs()
	return d.done(KindUnwatch)
}

func (Query) Kind() Kind                   { return KindQuery }
func (m Query) AppendBody(b []byte) []byte { return appendStrs(b, m.Users) }
func (m *Query) Decode(body []byte) error {
	d := decoder{b: body}
	m.Users = d.strs()
	return d.done(KindQuery)
}

func (QueryReply) Kind() Kind { return KindReply }
func (m QueryReply) AppendBody(b []byte) []byte {
	b = appendBools(appendStr(b, m.Err), m.Active)
	b = binary.AppendUvarint(b, uint64(m.Connections))
	b = binary.AppendVarint(b, m.LastActive)
	return appendBool(b, m.ManualAway)
}
func (m *QueryReply) Decode(body []byte) error {
	d := decoder{b: body}
	m.Err, m.Active = d.str(), d.bools()
	m.Connections, m.LastActive, m.ManualAway = uint32(d.uvarint()), d.varint(), d.bool()
	return d.done(KindReply)
}

func (SetAway) Kind() Kind                   { return KindSetAway }
func (m SetAway) AppendBody(b []byte) []byte { return appendBool(appendStr(b, m.User), m.Away) }
func (m *SetAway) Decode(body []byte) error {
	d := decoder{b: body}
	m.User, m.Away = d.str(), d.bool()
	return d.done(KindSetAway)
}

func (SetAwayReply) Kind() Kind                   { return KindReply }
func (m SetAwayReply) AppendBody(b []byte) []byte { return appendStr(b, m.Err) }
func (m *SetAwayReply) Decode(body []byte) error {
	d := decoder{b: body}
	m.Err = d.str()
	return d.done(KindReply)
}

func (UserEvent) Kind() Kind { return KindUserEvent }
func (m UserEvent) AppendBody(b []byte) []byte {
	b = appendStr(b, m.User)
	b = appendStr(b, m.Channel)
	b = binary.AppendUvarint(b, m.Seq)
	b = appendStr(b, m.Name)
	return appendBytes(b, m.Payload)
}
func (m *UserEvent) Decode(body []byte) error {
	d := decoder{b: body}
	m.User, m.Channel, m.Seq = d.str(), d.str(), d.uvarint()
	m.Name, m.Payload = d.str(), d.bytes()
	return d.done(KindUserEvent)
}

func (Lease) Kind() Kind                  { return KindLease }
func (Lease) AppendBody(b []byte) []byte  { return b }
func (m *Lease) Decode(body []byte) error { d := decoder{b: body}; return d.done(KindLease) }

func (Synced) Kind() Kind { return KindSynced }
func (m Synced) AppendBody(b []byte) []byte {
	return appendStrs(binary.AppendUvarint(b, m.Round), m.Ring)
}
func (m *Synced) Decode(body []byte) error {
	d := decoder{b: body}
	m.Round, m.Ring = d.uvarint(), d.strs()
	return d.done(KindSynced)
}

func (PresenceChange) Kind() Kind { return KindPresenceChange }
func (m PresenceChange) AppendBody(b []byte) []byte {
	return appendBool(appendStr(b, m.User), m.Active)
}
func (m *PresenceChange) Decode(body []byte) error {
	d := decoder{b: body}
	m.User, m.Active = d.str(), d.bool()
	return d.done(KindPresenceChange)
}

func (UserNotice) Kind() Kind                   { return KindUserNotice }
func (m UserNotice) AppendBody(b []byte) []byte { return UserEvent(m).AppendBody(b) }
func (m *UserNotice) Decode(body []byte) error {
	if err := (*UserEvent)(m).Decode(body); err != nil {
		return fmt.Errorf("internode: bad %v: %w", KindUserNotice, err)
	}
	return nil
}

func (AwayChange) Kind() Kind                   { return KindAwayChange }
func (m AwayChange) AppendBody(b []byte) []byte { return appendBool(appendStr(b, m.User), m.Away) }
func (m *AwayChange) Decode(body []byte) error {
	d := decoder{b: body}
	m.User, m.Away = d.str(), d.bool()
	return d.done(KindAwayChange)
}

func (Resync) Kind() Kind                  { return KindResync }
func (Resync) AppendBody(b []byte) []byte  { return b }
func (m *Resync) Decode(body []byte) error { d := decoder{b: body}; return d.done(KindResync) }
