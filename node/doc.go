// Package node assembles one ringcast process: it opens the store, joins
// the gossip, opens the HTTP and internode listeners, and runs the roles
// the Config asks for. It owns the order of start-up and of shutdown
// (leave the gossip first, then drain clients, then stop), and nothing
// else: every behaviour lives in a role.
package node
