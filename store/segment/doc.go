// Package segment is the embedded store's message log format: a row per
// channel per Append (a segment of consecutive seqs), its body format,
// how an Append's messages become rows, how a refused row is narrowed
// to the seqs that can still be written (PutEach), and how a query's
// segment rows become messages (Each).
//
// store/sqlite owns the SQL and the transactions; the read rules (History's
// binary search) are store's, shared with store/postgres, which keeps a
// row per message instead (ARCHITECTURE.md says why). This package does
// no I/O of its own.
package segment
