// Package route sends a request to whichever node owns a key in a role's
// ring (a channel's owner, a user's presence node) and retries while the
// answer means "nothing was done here": the ring was stale, the write was
// fenced, the owner could not be reached. It waits on membership changes
// rather than sleeping blindly.
package route
