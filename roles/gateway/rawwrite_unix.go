//go:build unix

package gateway

import (
	"net"
	"syscall"
)

// rawConn returns nc's descriptor for non-blocking writes.
func rawConn(nc net.Conn) syscall.RawConn {
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return rc
		}
	}
	return nil
}

func writeFD(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }
