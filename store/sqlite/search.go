package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/store/segment"
)

// The full-text index is derived from the log, not written with it:
// writing it in the Append's transaction cost 69% of the publish
// throughput (133k to 41k acked messages/s, docs/BENCHMARKS.md). The
// store's indexer (one goroutine, indexer) moves the entries committed
// since the last segment it read, in commit (rowid) order, into
// search_docs (a row per message in its current state, with its text)
// and an FTS5 table over them (external content: the text, and the
// channel and author ids as a token each, so that a search's every
// condition is one MATCH): a message adds its row, an edit replaces the
// row's text, a delete removes the row. It records in search_state the
// last segment it read, in the same transaction, so it resumes there
// after a restart or a crash. A search reads the index and, in the same
// read transaction, the entries after search_state's (the unindexed
// tail) straight from the log, matched in Go the way the tokenizer
// does: so an acknowledged message is searchable at once, and a crash
// between a commit and its indexing loses nothing. Row ids grow in
// commit order, so "newest first" is the FTS5 rowid order, read without
// a sort.
const searchSchema = `
CREATE TABLE search_docs(id INTEGER PRIMARY KEY, channel TEXT NOT NULL, ts INTEGER NOT NULL,
	user_id TEXT NOT NULL, thread_ts INTEGER NOT NULL, text TEXT NOT NULL);
CREATE UNIQUE INDEX search_docs_by_ts ON search_docs(channel, ts);
CREATE VIRTUAL TABLE search_fts USING fts5(text, channel, user_id, content='search_docs', content_rowid='id',
	tokenize='unicode61 remove_diacritics 0');
CREATE TABLE search_state(id INTEGER PRIMARY KEY CHECK (id = 1), segment INTEGER NOT NULL);
INSERT INTO search_state(id, segment) VALUES (1, 0);`

// addSearch creates the index; the indexer fills it from the log.
func addSearch(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, searchSchema)
	return err
}

// The indexer looks for new segments every indexEvery, and indexes at
// most indexChunk entries (or indexBytes of text) per write
// transaction, read before the write lock is taken, on a connection of
// its own whose commits are not fsynced (synchronous=NORMAL: a power
// loss can only take the last chunks back, with search_state, and they
// are redone from the log). It yields to publishing, since FTS5 costs
// ~18 µs of CPU per message (eight times the log's own write) and its
// write transactions queue the appender's: it indexes when no message
// was appended for a tick (then at full speed until appends resume), or
// when the unindexed tail passed tailMax messages while appends come
// slower than busyRate (then waiting yieldFactor times as long as a
// chunk took before the next). Faster than busyRate it indexes nothing.
// Searches read the unindexed tail from the log, so all this changes
// is how long their tail is.
const (
	indexEvery  = 200 * time.Millisecond
	indexChunk  = 256
	indexBytes  = 16 << 10
	tailMax     = 10_000
	yieldFactor = 4
	busyRate    = 10_000 // messages appended per second
)

// indexer runs index until the store closes. It owns the index's writes.
func (s *Store) indexer() {
	defer close(s.indexDone)
	t := time.NewTicker(indexEvery)
	defer t.Stop()
	ctx := context.Background()
	seen, since := s.appended.Load(), time.Now()
	// pending estimates the tail: what was appended since the indexer
	// started and not indexed (the first quiet tick takes the rest).
	var pending uint64
	// appends reports how many messages were appended since it was last
	// called, and whether that is publishing at full tilt.
	appends := func() (n uint64, busy bool) {
		now, total := time.Now(), s.appended.Load()
		n, seen = total-seen, total
		busy = float64(n) > busyRate*now.Sub(since).Seconds()
		since, pending = now, pending+n
		return n, busy
	}
	// yield reports whether to stop indexing for now.
	yield := func(n uint64, busy bool) bool { return busy || (n > 0 && pending < tailMax) }
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if yield(appends()) {
			continue
		}
		for {
			start := time.Now()
			k, more, err := s.index(ctx)
			pending -= min(pending, uint64(k))
			if err != nil || !more {
				break
			}
			n, busy := appends()
			if yield(n, busy) {
				break
			}
			wait := time.Duration(0)
			if n > 0 {
				wait = yieldFactor * time.Since(start)
			}
			select {
			case <-s.stop:
				return
			case <-time.After(wait):
			}
		}
	}
}

// index moves the entries of up to indexChunk messages (or indexBytes of
// text) of the segments after search_state's into the index, in one
// write transaction: n of them; more is true when there may be others.
func (s *Store) index(ctx context.Context) (n int, more bool, err error) {
	// Nothing new: no write lock taken.
	var news bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM segments
		WHERE rowid > (SELECT segment FROM search_state WHERE id = 1))`).Scan(&news); err != nil || !news {
		return 0, false, err
	}
	// The chunk is read and laid out before the write lock is taken; the
	// lock is held for the index's writes alone.
	var from int64
	if err := s.r.QueryRowContext(ctx, `SELECT segment FROM search_state WHERE id = 1`).Scan(&from); err != nil {
		return 0, false, err
	}
	var posts, changes []chat.Message
	size := 0
	full := func() bool { return len(posts)+len(changes) >= indexChunk || size >= indexBytes }
	n, last, err := readTail(ctx, s.r, from, full, func(m *chat.Message) {
		switch m.Kind() {
		case chat.KindMessage:
			posts = append(posts, chat.Message{Channel: m.Channel, TS: m.TS, User: m.User, ThreadTS: m.ThreadTS, Text: m.Text})
		case chat.KindEdit, chat.KindDelete:
			changes = append(changes, chat.Message{Channel: m.Channel, TS: m.TS, Text: m.Text, More: m.More})
		}
		size += len(m.Text)
	})
	if err != nil || n == 0 {
		return 0, false, err
	}
	var docs []byte
	if len(posts) > 0 {
		// In ts order, so that row ids are (a commit's segments are by channel).
		slices.SortStableFunc(posts, func(a, b chat.Message) int { return cmp.Compare(a.TS, b.TS) })
		for i := range posts {
			docs = appendDoc(docs, &posts[i])
		}
	}
	// Taken in the appender's turn: an append waiting for the write lock
	// on SQLite's busy handler sleeps in steps of up to 100 ms, on a
	// mutex it wakes when the chunk commits.
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	tx, err := s.idx.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	var now int64
	if err := tx.QueryRowContext(ctx, `SELECT segment FROM search_state WHERE id = 1`).Scan(&now); err != nil || now != from {
		return 0, err == nil, err // another process's indexer was first: read again
	}
	if len(posts) > 0 {
		var first int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM search_docs`).Scan(&first); err != nil {
			return 0, false, err
		}
		// Two statements for the batch: FTS5 writes its pending terms at
		// every statement, so one per message would make each a segment.
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO search_docs(channel, ts, user_id, thread_ts, text)
			SELECT value->>0, value->>1, value->>2, value->>3, value->>4 FROM json_each(?)`, "["+string(docs)+"]"); err != nil {
			return 0, false, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_fts(rowid, text, channel, user_id)
			SELECT id, text, channel, user_id FROM search_docs WHERE id > ?`, first); err != nil {
			return 0, false, err
		}
	}
	// Edits and deletes (few) after the messages they may name, in
	// commit order: the old row out of FTS5, then the new one in.
	for _, c := range changes {
		const where = ` FROM search_docs WHERE channel = ?1 AND ts = ?2`
		args := []any{c.Channel, int64(c.More.Target)}
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_fts(search_fts, rowid, text, channel, user_id)
			SELECT 'delete', id, text, channel, user_id`+where, args...); err != nil {
			return 0, false, err
		}
		if c.Kind() == chat.KindDelete {
			_, err = tx.ExecContext(ctx, `DELETE`+where, args...)
		} else if _, err = tx.ExecContext(ctx, `UPDATE search_docs SET text = ?3 WHERE channel = ?1 AND ts = ?2`,
			append(args, c.Text)...); err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO search_fts(rowid, text, channel, user_id) SELECT id, text, channel, user_id`+where, args...)
		}
		if err != nil {
			return 0, false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE search_state SET segment = ? WHERE id = 1`, last); err != nil {
		return 0, false, err
	}
	return n, full(), tx.Commit()
}

// querier is a transaction or a connection.
type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// readTail calls f with every message of the segments after segment
// rowid from, in commit order, until full (when not nil) says so (a
// segment is read whole); it returns how many and the last segment read
// (from when none).
func readTail(ctx context.Context, q querier, from int64, full func() bool, f func(*chat.Message)) (n int, last int64, err error) {
	rows, err := q.QueryContext(ctx, `SELECT `+segmentHead+`, rowid, channel, body FROM segments WHERE rowid > ? ORDER BY rowid`, from)
	if err != nil {
		return 0, from, err
	}
	defer rows.Close()
	last = from
	var msgs []chat.Message
	for (full == nil || !full()) && rows.Next() {
		var ch string
		var seg segment.Segment
		var id int64
		if err := segment.ScanHead(rows, &seg.Span, &id, &ch, &seg.Body); err != nil {
			return n, last, err
		}
		if msgs, err = seg.Decode(msgs[:0], ch); err != nil {
			return n, last, err
		}
		for i := range msgs {
			f(&msgs[i])
		}
		n, last = n+len(msgs), id
	}
	return n, last, rows.Err()
}

// appendDoc appends m as a JSON array [channel, ts, user, thread_ts,
// text], after a comma unless it is the first.
func appendDoc(b []byte, m *chat.Message) []byte {
	if len(b) > 0 {
		b = append(b, ',')
	}
	b = append(b, '[')
	b = jsonString(b, m.Channel)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(m.TS), 10)
	b = append(b, ',')
	b = jsonString(b, m.User)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(m.ThreadTS), 10)
	b = append(b, ',')
	b = jsonString(b, m.Text)
	return append(b, ']')
}

// jsonString appends s as a JSON string.
func jsonString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string: cannot fail
	return append(b, q...)
}

// relevanceWindow is how many of the newest matches a search by
// relevance ranks (more when it pages further): bm25 costs a computation
// per match ranked, and a word in half the messages would rank them all.
const relevanceWindow = 1000

// joinBelow is the number of messages matching a query's words below
// which the channels are checked on each match's row rather than in the
// MATCH: the MATCH's channel terms read every message of the caller's
// channels (about 20 ms for 50k), a row per match is cheaper below it.
const joinBelow = 5000

// Search implements store.Search: the messages of the unindexed tail
// of the log and those the tail edited (matched in Go), merged with the
// index's matches (FTS5), read in one transaction. By time they merge in
// ts order; by relevance the Go matches, being the newest or just
// edited, come first (last ascending), ranked among themselves.
func (s *Store) Search(ctx context.Context, q store.SearchQuery) (store.SearchResult, error) {
	var res store.SearchResult
	if len(q.Channels) == 0 || q.Limit <= 0 {
		return res, nil
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	var from int64
	if err := tx.QueryRowContext(ctx, `SELECT segment FROM search_state WHERE id = 1`).Scan(&from); err != nil {
		return res, err
	}
	t, err := readTailState(ctx, tx, from, q.Channels)
	if err != nil {
		return res, err
	}
	byTime := q.ByTime || len(q.Words)+len(q.Phrases) == 0
	match := newMatcher(q)
	var tail []scored
	for _, m := range t.msgs {
		if m.Kind() == chat.KindDelete { // deleted (the marker readTailState leaves)
			continue
		}
		if ok, score := match.matches(m); ok {
			tail = append(tail, scored{*m, score})
		}
	}
	slices.SortStableFunc(tail, func(a, b scored) int {
		c := cmp.Compare(a.m.TS, b.m.TS)
		if !byTime {
			c = cmp.Or(cmp.Compare(a.score, b.score), c)
		}
		if q.Asc {
			return c
		}
		return -c
	})
	need := q.Offset + q.Limit
	total, indexed, err := s.searchIndex(ctx, tx, q, byTime, need, t.indexed)
	if err != nil {
		return res, err
	}
	res.Total = total + len(tail)
	var all []chat.Message
	switch {
	case byTime:
		all = mergeByTS(indexed, tail, q.Asc)
	case q.Asc:
		all = indexed
		for _, x := range tail {
			all = append(all, x.m)
		}
	default:
		for _, x := range tail {
			all = append(all, x.m)
		}
		all = append(all, indexed...)
	}
	if q.Offset < len(all) {
		res.Messages = all[q.Offset:min(len(all), need)]
	}
	return res, nil
}

// mergeByTS merges the index's matches with the tail's, both in ts order
// (ascending or not).
func mergeByTS(indexed []chat.Message, tail []scored, asc bool) []chat.Message {
	out := make([]chat.Message, 0, len(indexed)+len(tail))
	i, j := 0, 0
	for i < len(indexed) || j < len(tail) {
		takeTail := i == len(indexed) || (j < len(tail) && (tail[j].m.TS > indexed[i].TS) != asc)
		if takeTail {
			out, j = append(out, tail[j].m), j+1
		} else {
			out, i = append(out, indexed[i]), i+1
		}
	}
	return out
}

// tailState is the log's unindexed tail applied to the index: the
// current state of every message it holds and of every indexed message
// it changed (deleted ones marked KindDelete), and the index's ids of
// the latter, which the index's matches leave out.
type tailState struct {
	msgs    []*chat.Message
	indexed map[int64]bool
}

// readTailState reads the entries of the segments after segment rowid
// from and applies those of channels (only: the tail can be long).
func readTailState(ctx context.Context, tx *sql.Tx, from int64, channels []string) (tailState, error) {
	mine := make(map[string]bool, len(channels))
	for _, c := range channels {
		mine[c] = true
	}
	type key struct {
		ch string
		ts chat.TS
	}
	t := tailState{indexed: map[int64]bool{}}
	byKey := map[key]*chat.Message{}
	var changes []chat.Message // of messages before the tail
	_, _, err := readTail(ctx, tx, from, nil, func(m *chat.Message) {
		if !mine[m.Channel] {
			return
		}
		switch m.Kind() {
		case chat.KindMessage:
			c := &chat.Message{Channel: m.Channel, TS: m.TS, User: m.User, Text: m.Text, ThreadTS: m.ThreadTS}
			t.msgs = append(t.msgs, c)
			byKey[key{m.Channel, m.TS}] = c
		case chat.KindEdit, chat.KindDelete:
			if c := byKey[key{m.Channel, m.More.Target}]; c != nil {
				applyChange(c, m)
			} else {
				changes = append(changes, chat.Message{Channel: m.Channel, Text: m.Text, More: &chat.More{Kind: m.Kind(), Target: m.More.Target}})
			}
		}
	})
	if err != nil {
		return t, err
	}
	// An indexed message the tail changed: its row, changed.
	for i := range changes {
		ch := &changes[i]
		k := key{ch.Channel, ch.More.Target}
		c := byKey[k]
		if c == nil {
			c = &chat.Message{Channel: k.ch, TS: k.ts}
			var id, thread int64
			err := tx.QueryRowContext(ctx, `SELECT id, user_id, thread_ts, text FROM search_docs WHERE channel = ? AND ts = ?`,
				k.ch, int64(k.ts)).Scan(&id, &c.User, &thread, &c.Text)
			if errors.Is(err, sql.ErrNoRows) {
				continue // not a message's (or deleted already)
			}
			if err != nil {
				return t, err
			}
			c.ThreadTS = chat.TS(thread)
			t.indexed[id] = true
			t.msgs = append(t.msgs, c)
			byKey[k] = c
		}
		applyChange(c, ch)
	}
	return t, nil
}

// applyChange applies an edit (the new text) or a delete (a KindDelete
// marker) to c.
func applyChange(c, e *chat.Message) {
	if e.Kind() == chat.KindDelete {
		c.More = &chat.More{Kind: chat.KindDelete}
	} else if c.More == nil {
		c.Text = e.Text
	}
}

// searchIndex is the FTS5 part of Search: how many messages match, but
// for those of skip (which the tail changed), and the first need of
// them in the order asked.
func (s *Store) searchIndex(ctx context.Context, tx *sql.Tx, q store.SearchQuery, byTime bool, need int, skip map[int64]bool) (int, []chat.Message, error) {
	var terms []string
	for _, w := range q.Words {
		if p, ok := strings.CutSuffix(w, "*"); ok {
			terms = append(terms, `"`+p+`"*`)
		} else {
			terms = append(terms, `"`+w+`"`)
		}
	}
	for _, p := range q.Phrases {
		terms = append(terms, `"`+strings.ReplaceAll(p, `"`, `""`)+`"`)
	}
	var conds []string
	if len(terms) > 0 {
		conds = append(conds, `text : (`+strings.Join(terms, " AND ")+`)`)
	}
	if q.User != "" {
		conds = append(conds, `user_id : `+quoteAll([]string{q.User}, ""))
	}
	match, filter := strings.Join(conds, " AND "), ""
	n := joinBelow
	if match != "" {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM search_fts WHERE search_fts MATCH ?`, match).Scan(&n); err != nil {
			return 0, nil, err
		}
	}
	if n < joinBelow {
		channels, _ := json.Marshal(q.Channels) // strings: cannot fail
		filter = ` AND d.channel IN (SELECT value FROM json_each(` + quoteSQL(string(channels)) + `))`
	} else {
		match = strings.Join(append([]string{`channel : (` + quoteAll(q.Channels, " OR ") + `)`}, conds...), " AND ")
	}
	const from = ` FROM search_fts JOIN search_docs AS d ON d.id = search_fts.rowid WHERE search_fts MATCH ?1`
	count := `SELECT count(*) FROM search_fts WHERE search_fts MATCH ?1` // no row read
	if filter != "" {
		count = `SELECT count(*)` + from + filter
	}
	var total int
	if err := tx.QueryRowContext(ctx, count, match).Scan(&total); err != nil {
		return 0, nil, err
	}
	if len(skip) > 0 {
		ids := make([]int64, 0, len(skip))
		for id := range skip {
			ids = append(ids, id)
		}
		idList, _ := json.Marshal(ids) // numbers: cannot fail
		var skipped int
		if err := tx.QueryRowContext(ctx, `SELECT count(*)`+from+filter+` AND d.id IN (SELECT value FROM json_each(?2))`,
			match, string(idList)).Scan(&skipped); err != nil {
			return 0, nil, err
		}
		total -= skipped
	}
	limit := min(need, total) + len(skip)
	if need <= 0 || total <= 0 {
		return total, nil, nil
	}
	const cols = `SELECT d.id, d.channel, d.ts, d.user_id, d.thread_ts, d.text`
	dir := map[bool]string{false: " DESC", true: " ASC"}
	var rows *sql.Rows
	var err error
	if byTime {
		rows, err = tx.QueryContext(ctx, cols+from+filter+` ORDER BY search_fts.rowid`+dir[q.Asc]+` LIMIT ?2`, match, limit)
	} else {
		// Rank the newest window of matches: from the window's oldest on.
		window := max(relevanceWindow, limit)
		var oldest int64
		err = tx.QueryRowContext(ctx, `SELECT search_fts.rowid`+from+filter+` ORDER BY search_fts.rowid DESC LIMIT 1 OFFSET ?2`,
			match, window-1).Scan(&oldest)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, nil, err
		}
		// bm25 of the text alone; lower is better.
		rows, err = tx.QueryContext(ctx, cols+from+filter+` AND search_fts.rowid >= ?3
			ORDER BY bm25(search_fts, 1, 0, 0)`+dir[!q.Asc]+`, search_fts.rowid DESC LIMIT ?2`,
			match, limit, oldest)
	}
	if err != nil {
		return 0, nil, err
	}
	msgs, err := collect(rows, func(r interface{ Scan(...any) error }) (chat.Message, error) {
		var m chat.Message
		var id, ts, thread int64
		err := r.Scan(&id, &m.Channel, &ts, &m.User, &thread, &m.Text)
		m.TS, m.ThreadTS = chat.TS(ts), chat.TS(thread)
		if skip[id] {
			m.Channel = "" // left out below
		}
		return m, err
	})
	msgs = slices.DeleteFunc(msgs, func(m chat.Message) bool { return m.Channel == "" })
	return total, msgs[:min(len(msgs), need)], err
}

// quoteSQL is s as an SQL string literal.
func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteAll is ids as FTS5 strings, joined by sep.
func quoteAll(ids []string, sep string) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(`"` + strings.ReplaceAll(id, `"`, `""`) + `"`)
	}
	return b.String()
}

// matcher is a SearchQuery applied to a message in Go, as FTS5's
// unicode61 tokenizer (without removing diacritics) splits and folds
// text: tokens are runs of letters and digits, lowercased.
type matcher struct {
	channels map[string]bool
	user     string
	words    []string   // exact tokens
	prefixes []string   // token prefixes
	phrases  [][]string // token sequences
}

func newMatcher(q store.SearchQuery) *matcher {
	m := &matcher{channels: map[string]bool{}, user: q.User}
	for _, c := range q.Channels {
		m.channels[c] = true
	}
	for _, w := range q.Words {
		if p, ok := strings.CutSuffix(w, "*"); ok {
			m.prefixes = append(m.prefixes, strings.ToLower(p))
		} else {
			m.words = append(m.words, strings.ToLower(w))
		}
	}
	for _, p := range q.Phrases {
		m.phrases = append(m.phrases, tokens(p))
	}
	return m
}

// tokens splits s as the tokenizer does.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// scored is a match of the tail and its relevance.
type scored struct {
	m     chat.Message
	score float64
}

// matches reports whether msg matches, and how well: the share of its
// words that are the query's (bm25's spirit, for the few tail matches).
func (m *matcher) matches(msg *chat.Message) (bool, float64) {
	if !m.channels[msg.Channel] || (m.user != "" && msg.User != m.user) {
		return false, 0
	}
	if len(m.words)+len(m.prefixes)+len(m.phrases) == 0 {
		return true, 0
	}
	toks := tokens(msg.Text)
	hits := 0
	for _, w := range m.words {
		n := count(toks, func(t string) bool { return t == w })
		if n == 0 {
			return false, 0
		}
		hits += n
	}
	for _, p := range m.prefixes {
		n := count(toks, func(t string) bool { return strings.HasPrefix(t, p) })
		if n == 0 {
			return false, 0
		}
		hits += n
	}
	for _, ph := range m.phrases {
		if !containsRun(toks, ph) {
			return false, 0
		}
		hits += len(ph)
	}
	return true, float64(hits) / float64(len(toks))
}

// count is how many of toks f holds for.
func count(toks []string, f func(string) bool) int {
	n := 0
	for _, t := range toks {
		if f(t) {
			n++
		}
	}
	return n
}

// containsRun reports whether run appears in toks, in order and
// adjacent.
func containsRun(toks, run []string) bool {
	if len(run) == 0 {
		return true
	}
	for i := 0; i+len(run) <= len(toks); i++ {
		if slices.Equal(toks[i:i+len(run)], run) {
			return true
		}
	}
	return false
}
