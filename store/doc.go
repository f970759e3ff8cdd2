// Package store owns ringcast's durable state behind one interface:
// users and tokens, channels and their members, and each channel's
// message log keyed by (channel, seq). Implementations live in
// subpackages: sqlite (the embedded default, one machine) and postgres
// (several machines); segment is the log's row format and the logic both
// share; storetest is the conformance suite every implementation passes.
//
// The store is the fence between owners: Append never writes a
// (channel, seq) twice, which is what makes two nodes that both believe
// they own a channel safe. Each implementation migrates its schema at
// Open (numbered steps embedded in the binary) and refuses a database
// migrated by a newer binary. The store knows nothing of rings, nodes or
// websockets.
package store
