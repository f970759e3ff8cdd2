// Package segment is the message log as the SQL backends store it: a row
// per channel per Append (a segment of consecutive seqs), its body
// format, how an Append's messages become rows, how a refused row is
// narrowed to the seqs that can still be written, and how Messages and
// History read segments.
//
// It holds the behaviour both backends share so that it is defined once;
// a backend owns its SQL, its transactions and how it makes two
// overlapping segments impossible (SQLite: one writer at a time and a
// check in the INSERT; PostgreSQL: an exclusion constraint). This
// package does no I/O of its own.
package segment
