// Package postgres is the Store on PostgreSQL (jackc/pgx, one pgxpool),
// for nodes on several machines: every node that points at the same
// database shares users, channels, the message log and the cluster's
// settings.
//
// It keeps the contract of store/sqlite (storetest is the one
// definition of both): an Append is one transaction, acknowledged only
// after COMMIT returned with synchronous_commit=on, and the log's
// primary key (channel, seq) makes a seq written twice impossible,
// whichever machines the writers run on. Reads follow store's shared
// rules (store.ReadHistory). Every call runs under a deadline. It knows
// nothing of rings, nodes or websockets.
package postgres
