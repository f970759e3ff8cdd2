package gateway

import "time"

// StuckWrite sets the writer's deadline for a test and returns the old one.
func StuckWrite(d time.Duration) time.Duration {
	old := stuckWrite
	stuckWrite = d
	return old
}
