//go:build !unix

package gateway

import (
	"net"
	"syscall"
)

// rawConn returns nil where non-blocking writes on a descriptor are not
// available: every frame then goes through the session's writer.
func rawConn(net.Conn) syscall.RawConn { return nil }

func writeFD(uintptr, []byte) (int, error) { return 0, syscall.EINVAL }
