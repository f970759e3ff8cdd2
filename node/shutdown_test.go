package node

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/ringcast/ringcast/config"
	"github.com/ringcast/ringcast/ring"
	"github.com/ringcast/ringcast/transport/internode"
)

// holdFrame stands in for the channel role's handler: it holds an
// unsubscribe until its link is closed or the roles are told to stop,
// and reports which came first.
type holdFrame struct {
	internode.ChannelServer
	roles    context.Context
	arrived  chan struct{}
	rolesCut chan bool // true: the roles stopped while the frame was still in
}

func (h *holdFrame) Unsubscribe(l *internode.Link, _ internode.Unsubscribe) {
	close(h.arrived)
	select {
	case <-l.Done():
	case <-h.roles.Done():
	}
	h.rolesCut <- h.roles.Err() != nil
}

func testConfig(t *testing.T, roles ...ring.Role) config.Config {
	cfg := config.Default()
	cfg.Name, cfg.Roles, cfg.DataDir = "n1", roles, t.TempDir()
	cfg.HTTPAddr, cfg.GossipAddr = "127.0.0.1:0", "127.0.0.1:0"
	g := ring.DefaultGossip()
	g.PushPull = 0
	cfg.Gossip = g
	return cfg
}

// TestShutdownClosesLinksBeforeRolesStop: a frame that is still being
// handled when the node shuts down has its link closed before the roles
// are stopped, so no role is handed frames after it stopped. (Before,
// the roles stopped first: a publish arriving then was queued for a
// committer that was gone and never answered.)
func TestShutdownClosesLinksBeforeRolesStop(t *testing.T) {
	n, err := New(testConfig(t, ring.RoleChannel), "test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := &holdFrame{ChannelServer: n.dispatch.Channel, roles: n.roleCtx, arrived: make(chan struct{}), rolesCut: make(chan bool, 1)}
	n.dispatch.Channel = h
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- n.Run(ctx) }()

	c, err := internode.Dial(context.Background(), n.inode.Addr(), internode.DialOptions{Auth: n.links})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	internode.Send(c.Link, internode.Unsubscribe{Channel: "C1"})
	<-h.arrived
	cancel()
	if <-h.rolesCut {
		t.Error("the roles were stopped while a frame was still being handled on an open link")
	}
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}

// TestCloseWithoutRun: a node that New built and Run never ran closes
// everything it started (New's own failure path does the same); goleak
// in TestMain finds any goroutine left behind. (Before, gateway.New
// started its fan-out workers, which nothing stopped.)
func TestCloseWithoutRun(t *testing.T) {
	n, err := New(testConfig(t, ring.AllRoles...), "test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, ring.AllRoles...)
	cfg.Name, cfg.HTTPAddr = "n2", n.HTTPAddr()
	if _, err := New(cfg, "test", slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("New succeeded on a taken HTTP address")
	}
	n.closeAll()
	n.closeAll()
}
