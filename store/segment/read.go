package segment

import (
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// Rows is a query result (database/sql's and pgx's both are).
type Rows = store.Rows

// Each calls f with the messages of each segment of rows (columns first,
// last, first_ts, ts_span, body) that fall in [from, to], in the rows'
// order or (desc) each segment's newest first, while f returns true: a
// backend's store.LogReader Read over a query of the segments holding
// those seqs. The caller closes rows.
func Each(rows Rows, channel string, from, to uint64, desc bool, f func(chat.Message) bool) error {
	var msgs []chat.Message
	for rows.Next() {
		seg, err := ScanSegment(rows)
		if err != nil {
			return err
		}
		if msgs, err = seg.Decode(msgs[:0], channel); err != nil {
			return err
		}
		for i := range msgs {
			m := msgs[i]
			if desc {
				m = msgs[len(msgs)-1-i]
			}
			if m.Seq >= from && m.Seq <= to && !f(m) {
				return nil
			}
		}
	}
	return rows.Err()
}
