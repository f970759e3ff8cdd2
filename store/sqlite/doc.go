// Package sqlite is the embedded Store: one SQLite database file in WAL
// mode (pure Go, no cgo), shared safely by several processes on one
// machine. Writes go through a single connection per process and every
// transaction begins IMMEDIATE, so writers queue on SQLite's lock instead
// of failing mid-transaction; reads use a separate pool and never block
// on writers. synchronous=FULL: a committed append survives power loss,
// which is what an acknowledged message promises. The schema is brought
// up to date at Open by numbered migrations (migrate.go), each under the
// write lock, so processes starting together apply each step once.
package sqlite
