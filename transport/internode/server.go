package internode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
)

// Handler serves the messages that arrive on accepted links. Both
// methods run on the link's reader goroutine, in arrival order;
// HandleFrame must not block for long (reply later with Reply).
// Dispatcher is the Handler that decodes each message for the role that
// serves it.
type Handler interface {
	HandleFrame(l *Link, f Frame)
	// LinkClosed runs once when a link ends, after its last frame.
	LinkClosed(l *Link)
}

// Server accepts links from other nodes.
type Server struct {
	ln       net.Listener
	auth     Auth
	versions []uint16
	handler  Handler
	logger   *slog.Logger
	slots    chan struct{} // one per handshake in progress, MaxHandshakes

	mu     sync.Mutex
	links  map[*Link]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Listen opens the internode listener of the node a authenticates.
// Serve starts accepting.
func Listen(addr string, a Auth, h Handler, logger *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("internode listen %s: %w", addr, err)
	}
	return &Server{ln: ln, auth: a, versions: Versions, handler: h, logger: logger,
		slots: make(chan struct{}, MaxHandshakes), links: map[*Link]struct{}{}}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve accepts links until Close.
func (s *Server) Serve() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		select {
		case s.slots <- struct{}{}:
		default:
			// A flood of connections that do not finish their handshakes:
			// what is already in progress goes on, this one does not.
			s.mu.Unlock()
			s.logger.Warn("internode: too many handshakes in progress, connection closed", "remote", nc.RemoteAddr(), "max", MaxHandshakes)
			nc.Close()
			continue
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(nc)
	}
}

func (s *Server) serveConn(nc net.Conn) {
	defer s.wg.Done()
	peer, version, nc, err := s.handshake(nc)
	<-s.slots
	if err != nil {
		s.logger.Warn("internode handshake failed", "remote", nc.RemoteAddr(), "err", err)
		nc.Close()
		return
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	nc = s.auth.Traffic.conn(nc)
	br := bufio.NewReaderSize(nc, 64<<10)
	l := newLink(nc, peer, version)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.wait()
		return
	}
	s.links[l] = struct{}{}
	s.mu.Unlock()

	for {
		f, err := readFrame(br)
		if err != nil {
			l.Close(err)
			break
		}
		s.handler.HandleFrame(l, f)
	}
	l.wait()
	s.handler.LinkClosed(l)
	s.mu.Lock()
	delete(s.links, l)
	s.mu.Unlock()
	if err := l.Err(); !errors.Is(err, ErrClosed) && !errors.Is(err, net.ErrClosed) {
		s.logger.Debug("internode link ended", "peer", l.peer, "err", err)
	}
}

// handshake authenticates a new connection: TLS when the node has it,
// then the application handshake. It returns the connection the link
// runs on (nc itself when it fails).
func (s *Server) handshake(nc net.Conn) (string, uint16, net.Conn, error) {
	conn, h, err := s.auth.secure(context.Background(), nc, false, "", s.versions)
	if err != nil {
		return "", 0, nc, err
	}
	peer, version, err := h.run(conn)
	if err != nil {
		return "", 0, nc, err
	}
	return peer, version, conn, nil
}

// Close stops accepting, ends every link and waits for their goroutines:
// once it returns, no frame reaches the handler. Safe to call twice.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.links {
		l.Close(nil)
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
