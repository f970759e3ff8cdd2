package bench

import (
	"syscall"
	"testing"
	"time"
)

// TestReadProcSelf cross-checks what readProc reads of this process with
// what the kernel reports through getrusage: the CPU time, which also
// checks the unit of /proc's ticks.
func TestReadProcSelf(t *testing.T) {
	cpu := func() time.Duration {
		t.Helper()
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	// Enough CPU time that a wrong unit cannot hide in the tolerance.
	for cpu() < 300*time.Millisecond {
		for i := 0; i < 1e6; i++ {
			_ = i * i
		}
	}
	before := cpu()
	s, err := readProc("self")
	after := cpu()
	if err != nil {
		t.Fatal(err)
	}
	// /proc truncates utime and stime to whole ticks each.
	if lo, hi := before-2*clockTick-5*time.Millisecond, after+5*time.Millisecond; s.CPU < lo || s.CPU > hi {
		t.Errorf("readProc(self).CPU = %v, getrusage says %v..%v", s.CPU, before, after)
	}
	if s.RSS <= 0 {
		t.Errorf("readProc(self).RSS = %d", s.RSS)
	}
}
