package node_test

import (
	"net/url"
	"testing"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/ringcast/ringcast/ring"
)

// TestDMPrivateAcrossGateways: a DM's people hear of it and of its
// messages on whichever gateway they are; a third person hears nothing
// of it on any gateway, not even by asking to resume it.
func TestDMPrivateAcrossGateways(t *testing.T) {
	c := nodetest.Start(t,
		nodetest.Spec{Name: "core", Host: "127.0.35.11", Roles: []ring.Role{ring.RoleAdmin, ring.RoleChannel, ring.RolePresence}},
		nodetest.Spec{Name: "gw-a", Host: "127.0.35.12", Roles: []ring.Role{ring.RoleGateway}},
		nodetest.Spec{Name: "gw-b", Host: "127.0.35.13", Roles: []ring.Role{ring.RoleGateway}})
	c.WaitConverged()
	alice, _ := c.User("alice")
	bob, bobID := c.User("bob")
	carol, _ := c.User("carol")
	var room struct{ Channel struct{ ID string } }
	nodetest.Call(t, carol, "conversations.create", url.Values{"name": {"lobby"}}, &room)
	nodetest.Call(t, alice, "conversations.join", url.Values{"channel": {room.Channel.ID}}, nil)
	gwA, gwB := c.Node("gw-a").HTTPAddr(), c.Node("gw-b").HTTPAddr()

	ra := nodetest.Connect(t, alice, gwA, nil)
	rb := nodetest.Connect(t, bob, gwB, nil)
	carols := []*client.RTM{nodetest.Connect(t, carol, gwA, nil), nodetest.Connect(t, carol, gwB, nil)}

	var dm struct{ Channel struct{ ID string } }
	nodetest.Call(t, alice, "conversations.open", url.Values{"users": {bobID}}, &dm)
	// Carol tries to resume the DM from its start, on both gateways.
	carols = append(carols, nodetest.Connect(t, carol, gwA, map[string]uint64{dm.Channel.ID: 0}),
		nodetest.Connect(t, carol, gwB, map[string]uint64{dm.Channel.ID: 0}))
	for _, r := range []*client.RTM{ra, rb} {
		ev := nodetest.Next(t, r)
		// Alice's join of the lobby (channel_joined, member_joined_channel,
		// its channel_join message) may come after she connected.
		for ev.ChannelID() == room.Channel.ID {
			ev = nodetest.Next(t, r)
		}
		if ev.Type != "im_created" || ev.ChannelID() != dm.Channel.ID {
			t.Fatalf("first event %s, want im_created", ev.Raw)
		}
	}
	for i := range 20 {
		from := []*client.API{alice, bob}[i%2]
		nodetest.Call(t, from, "chat.postMessage", url.Values{"channel": {dm.Channel.ID}, "text": {"secret"}}, nil)
	}
	for _, r := range []*client.RTM{ra, rb} {
		for range 20 {
			if ev := nodetest.Next(t, r); ev.Type != "message" || ev.Text != "secret" || ev.ChannelID() != dm.Channel.ID {
				t.Fatalf("event %s, want the DM's message", ev.Raw)
			}
		}
	}
	// Then a message carol may see: the first thing any of her sessions
	// receives.
	nodetest.Call(t, alice, "chat.postMessage", url.Values{"channel": {room.Channel.ID}, "text": {"public"}}, nil)
	for i, r := range carols {
		for {
			ev := nodetest.Next(t, r)
			if ev.ChannelID() == dm.Channel.ID || ev.Text == "secret" {
				t.Fatalf("carol's session %d received the DM: %s", i, ev.Raw)
			}
			if ev.Type == "message" && ev.Text == "public" {
				break
			}
		}
	}
}
