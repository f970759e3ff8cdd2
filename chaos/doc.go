// Package chaos is the proof that ringcast loses nothing and reorders
// nothing under failure. Its test starts the real binary as several
// processes (channel nodes, gateways, an admin), publishes at a steady
// rate while SIGKILLing and restarting channel nodes, freezing channel
// nodes and gateways (SIGSTOP) until declared dead and letting them run
// again with stale state, and then restarting every node with SIGTERM,
// and checks with the Ledger that every subscriber saw every acked
// message exactly once, in seq order.
//
// `make chaos` runs the long form (many kills, failover times reported);
// `make test` runs a short one.
package chaos
