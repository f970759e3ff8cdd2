package limit

import "time"

// Config is every limit of a node, each a flag of `ringcast serve`
// (config.Bind) with the default below. A zero Rate or count disables
// that limit. Rates are per node; a bot user (is_bot, or limit class
// "bot") gets BotFactor times each rate, a user of class "unlimited"
// none of them.
type Config struct {
	// Web API rate tiers, per user and tier (the methods of a tier share
	// a bucket), shaped after Slack's: tier 2 for the methods that change
	// a channel or a setting, tier 3 for the paged reads, tier 4 for the
	// cheap ones. Over: HTTP 429, Retry-After, error "ratelimited".
	Tier2, Tier3, Tier4 Rate
	// RTMConnect limits rtm.connect per user (Slack's tier 1).
	RTMConnect Rate
	// AppsConnect limits apps.connections.open per app (Slack's tier 1,
	// as rtm.connect), whatever its bot user's class: the app-level token
	// is the app's, not a user's.
	AppsConnect Rate
	// Messages limits the messages one user posts, by chat.postMessage
	// and over RTM together.
	Messages Rate
	// ChannelsCreated limits conversations.create per user.
	ChannelsCreated Rate
	// RTMMessages limits the messages one websocket sends (Slack: about
	// one a second, short bursts allowed); over it, and over Messages,
	// the error ack has code -1, "slow down, too many messages..."
	// (slack-go's rate-limit event).
	RTMMessages Rate
	// RTMFrames limits every frame one websocket sends (pings, typing,
	// presence queries...), answered the same way; a client that goes on
	// regardless is disconnected (1008).
	RTMFrames Rate
	// SocketsPerUser bounds one user's websockets on one gateway (bots
	// ten times as many, class unlimited any number); SocketsPerGateway
	// all of a gateway's. Over either: close 1013 (try again later).
	SocketsPerUser    int
	SocketsPerGateway int
	// RTMPing is how long a websocket may be silent before the gateway
	// pings it; silent for twice as long, it is closed (a dead peer is
	// noticed within three times this).
	RTMPing time.Duration
	// MaxResponse bounds the bytes of one Web API response; a history
	// page stops short of it (has_more and a cursor), anything else
	// larger is refused with response_too_large.
	MaxResponse int
	// HTTP timeouts: a request, headers and body, must arrive within
	// HTTPRead and its answer leave within HTTPWrite; a keep-alive
	// connection with no request is closed after HTTPIdle. An upgraded
	// websocket has its own (pings and a read deadline).
	HTTPRead, HTTPWrite, HTTPIdle time.Duration
}

// Default is the limits a node has unless told otherwise: generous for a
// person at a keyboard (and the web client's reconnects), far below
// what one connection could otherwise push.
func Default() Config {
	return Config{
		Tier2:             Rate{60, time.Minute},
		Tier3:             Rate{300, time.Minute},
		Tier4:             Rate{600, time.Minute},
		RTMConnect:        Rate{30, time.Minute},
		AppsConnect:       Rate{30, time.Minute},
		Messages:          Rate{60, time.Minute},
		ChannelsCreated:   Rate{30, time.Hour},
		RTMMessages:       Rate{60, time.Minute},
		RTMFrames:         Rate{600, time.Minute},
		SocketsPerUser:    32,
		SocketsPerGateway: 100_000,
		RTMPing:           30 * time.Second,
		MaxResponse:       4 << 20,
		HTTPRead:          30 * time.Second,
		HTTPWrite:         30 * time.Second,
		HTTPIdle:          60 * time.Second,
	}
}
