package node

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringcast/ringcast/metrics"
	"github.com/ringcast/ringcast/ring"
)

// nodeCollector reports what the node as a whole knows, at scrape time:
// the cluster as its view has it, gossip, internode traffic, presence.
type nodeCollector struct {
	n *Node

	info, members, owners, gossip, health, suspicions, departed, bytes, presence, ready *prometheus.Desc
}

func newNodeCollector(n *Node) *nodeCollector {
	d := func(part, name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(metrics.Name(part, name), help, labels, nil)
	}
	return &nodeCollector{n: n,
		info:    d("node", "info", "This node: its name, version, region and roles (always 1).", "node", "version", "region", "roles"),
		members: d("ring", "members", "Members with each role in this node's view.", "role"),
		owners:  d("ring", "owners_missing", "1 when a role's ring has no member at all: its keys have no owner (channel: no channel can be published to).", "role"),
		gossip: d("gossip", "members", "Members by state in this node's memberlist: alive, suspect (this node's probe of it failed), "+
			"dead or left (remembered for 30 s after their departure).", "state"),
		health:     d("gossip", "health_score", "memberlist's awareness of its own health: 0 is healthy, higher when its probes go unanswered (members suspected)."),
		suspicions: d("gossip", "suspicions_total", "Members this node came to suspect (a probe unanswered), since it started."),
		departed:   d("gossip", "departures_total", "Members that memberlist declared dead or that left, since this node started.", "state"),
		bytes:      d("internode", "bytes_total", "Bytes carried by this node's internode links.", "direction"),
		presence:   d("presence", "users", "Users whose presence this node tracks."),
		ready:      d("node", "ready", "1 when /readyz says ready."),
	}
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.info, c.members, c.owners, c.gossip, c.health, c.suspicions, c.departed, c.bytes, c.presence, c.ready} {
		ch <- d
	}
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	roles := ""
	for i, r := range n.cfg.Roles {
		if i > 0 {
			roles += ","
		}
		roles += string(r)
	}
	gauge(c.info, 1, n.cfg.Name, n.version, n.cfg.Region, roles)
	v := n.members.View()
	for _, r := range ring.AllRoles {
		k := len(v.WithRole(r))
		gauge(c.members, float64(k), string(r))
		missing := 0.0
		if k == 0 {
			missing = 1
		}
		gauge(c.owners, missing, string(r))
	}
	g := n.members.GossipState()
	gauge(c.gossip, float64(g.Alive), "alive")
	gauge(c.gossip, float64(g.Suspect), "suspect")
	gauge(c.gossip, float64(g.Dead), "dead")
	gauge(c.gossip, float64(g.Left), "left")
	gauge(c.health, float64(g.Health))
	counter(c.suspicions, g.Suspicions)
	counter(c.departed, g.Deaths, "dead")
	counter(c.departed, g.Leaves, "left")
	counter(c.bytes, n.traffic.Sent.Load(), "sent")
	counter(c.bytes, n.traffic.Received.Load(), "received")
	if n.presence != nil {
		gauge(c.presence, float64(n.presence.Tracked()))
	}
	ready := 0.0
	if n.Readiness().Ready {
		ready = 1
	}
	gauge(c.ready, ready)
}
