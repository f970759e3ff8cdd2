// Package proctest runs clusters of the real ringcast binary as separate
// processes for tests where processes matter: SIGKILL, SIGTERM, restart
// with the same name and data. Each node gets its own loopback address,
// so ports never collide, and its log goes to a file that the test
// prints when it fails.
package proctest
