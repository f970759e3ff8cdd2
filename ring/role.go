package ring

import "time"

// Role is one of the four jobs a node can do. Members advertise their
// roles in their gossip metadata; channel and presence own keys and get
// a ring each.
type Role string

// The roles, in the order they are listed in help and status output.
const (
	RoleChannel  Role = "channel"
	RoleGateway  Role = "gateway"
	RoleAdmin    Role = "admin"
	RolePresence Role = "presence"
)

// AllRoles is the default: a single node that does everything.
var AllRoles = []Role{RoleChannel, RoleGateway, RoleAdmin, RolePresence}

// Gossip is memberlist's failure-detection timing. The defaults are tuned
// for a LAN so that a killed node leaves every ring within about two
// seconds; tests shrink them further.
type Gossip struct {
	ProbeInterval  time.Duration
	ProbeTimeout   time.Duration
	GossipInterval time.Duration
	SuspicionMult  int
	PushPull       time.Duration
}

// DefaultGossip is the production timing: a probe every 300ms and a
// suspicion timeout of SuspicionMult*max(1,log10(n))*ProbeInterval once
// another member confirms the suspicion, which declares a killed node
// dead in about 1.5-2.5s on a LAN (docs/BENCHMARKS.md has the measured
// distribution).
func DefaultGossip() Gossip {
	return Gossip{
		ProbeInterval:  300 * time.Millisecond,
		ProbeTimeout:   150 * time.Millisecond,
		GossipInterval: 100 * time.Millisecond,
		SuspicionMult:  3,
		PushPull:       15 * time.Second,
	}
}
