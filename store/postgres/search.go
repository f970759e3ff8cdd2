package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// searchSchema is the full-text index: a row per message in its
// current state with its text and a tsvector of it (the 'simple'
// configuration: words lowercased, no stemming and no stop words, like
// store/sqlite's FTS5), under a GIN index. Filled with what the log
// holds: the messages (thread replies too), their last edit's text, the
// deleted ones left out.
const searchSchema = `
CREATE TABLE search_docs(channel text COLLATE "C" NOT NULL, ts bigint NOT NULL, user_id text COLLATE "C" NOT NULL,
	thread_ts bigint NOT NULL, text text NOT NULL,
	tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED,
	PRIMARY KEY(channel, ts));
CREATE INDEX search_docs_tsv ON search_docs USING gin(tsv);
INSERT INTO search_docs(channel, ts, user_id, thread_ts, text)
	SELECT channel, ts, user_id, thread_ts, text FROM messages
	WHERE more IS NULL OR coalesce((convert_from(more, 'UTF8')::jsonb->>'k')::int, 0) = 0;
UPDATE search_docs d SET text = e.text FROM (
	SELECT DISTINCT ON (channel, target) channel, target, text FROM (
		SELECT channel, seq, text, (convert_from(more, 'UTF8')::jsonb->>'t')::bigint AS target FROM messages
		WHERE more IS NOT NULL AND (convert_from(more, 'UTF8')::jsonb->>'k')::int = 1) AS x
	ORDER BY channel, target, seq DESC) AS e
	WHERE d.channel = e.channel AND d.ts = e.target;
DELETE FROM search_docs d USING messages m
	WHERE m.more IS NOT NULL AND (convert_from(m.more, 'UTF8')::jsonb->>'k')::int = 2
	AND d.channel = m.channel AND d.ts = (convert_from(m.more, 'UTF8')::jsonb->>'t')::bigint;`

// indexRows keeps the index in the transaction that appends c (the
// entries an Append writes): the messages' rows in one statement, then
// each edit's new text and each delete, in seq order. Other entries
// (reactions, channel changes) change no text.
func indexRows(ctx context.Context, tx pgx.Tx, c *columns) error {
	d := &c.docs
	d.reset()
	for i := range c.seq {
		if k := c.kind[i]; k == chat.KindMessage {
			d.channel, d.ts, d.user = append(d.channel, c.channel[i]), append(d.ts, c.ts[i]), append(d.user, c.user[i])
			d.thread, d.text = append(d.thread, c.thread[i]), append(d.text, c.text[i])
		}
	}
	if len(d.ts) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO search_docs(channel, ts, user_id, thread_ts, text)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[])
			ON CONFLICT DO NOTHING`, d.channel, d.ts, d.user, d.thread, d.text); err != nil {
			return err
		}
	}
	for _, e := range c.entries { // in seq order
		var err error
		switch e.Kind() {
		case chat.KindEdit:
			_, err = tx.Exec(ctx, `UPDATE search_docs SET text = $3 WHERE channel = $1 AND ts = $2`,
				e.Channel, int64(e.More.Target), e.Text)
		case chat.KindDelete:
			_, err = tx.Exec(ctx, `DELETE FROM search_docs WHERE channel = $1 AND ts = $2`, e.Channel, int64(e.More.Target))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// docs are the index rows of one Append's messages.
type docs struct {
	channel, user, text []string
	ts, thread          []int64
}

func (d *docs) reset() {
	clear(d.text)
	d.channel, d.user, d.text, d.ts, d.thread = d.channel[:0], d.user[:0], d.text[:0], d.ts[:0], d.thread[:0]
}

// Search implements store.Search with tsqueries: the words ANDed by
// plainto_tsquery, each prefix by to_tsquery('w:*'), each phrase by
// phraseto_tsquery.
func (s *Store) Search(ctx context.Context, q store.SearchQuery) (store.SearchResult, error) {
	if len(q.Channels) == 0 || q.Limit <= 0 {
		return store.SearchResult{}, nil
	}
	args := []any{q.Channels, q.User, q.Limit, q.Offset}
	var parts, plain []string
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	for _, w := range q.Words {
		if p, ok := strings.CutSuffix(w, "*"); ok {
			// p is letters and digits (store.SearchWord): nothing for
			// to_tsquery to parse but the word.
			parts = append(parts, "to_tsquery('simple', "+arg(strings.ToLower(p)+":*")+")")
		} else {
			plain = append(plain, w)
		}
	}
	if len(plain) > 0 {
		parts = append(parts, "plainto_tsquery('simple', "+arg(strings.Join(plain, " "))+")")
	}
	for _, p := range q.Phrases {
		parts = append(parts, "phraseto_tsquery('simple', "+arg(p)+")")
	}
	dir := " DESC"
	if q.Asc {
		dir = " ASC"
	}
	order, match := "ts"+dir, ""
	if len(parts) > 0 {
		tsq := "(" + strings.Join(parts, " && ") + ")"
		match = " AND tsv @@ " + tsq
		if !q.ByTime {
			order = "ts_rank(tsv, " + tsq + ")" + dir + ", ts DESC"
		}
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT channel, ts, user_id, thread_ts, text, count(*) OVER () FROM search_docs
		WHERE channel = ANY($1) AND ($2 = '' OR user_id = $2)`+match+`
		ORDER BY `+order+` LIMIT $3 OFFSET $4`, args...)
	if err != nil {
		return store.SearchResult{}, err
	}
	var res store.SearchResult
	var ts, thread int64
	var m chat.Message
	_, err = pgx.ForEachRow(rows, []any{&m.Channel, &ts, &m.User, &thread, &m.Text, &res.Total}, func() error {
		m.TS, m.ThreadTS = chat.TS(ts), chat.TS(thread)
		res.Messages = append(res.Messages, m)
		return nil
	})
	if err == nil && len(res.Messages) == 0 && q.Offset > 0 {
		q.Offset, q.Limit = 0, 1 // past the last page: the count alone
		first, err := s.Search(ctx, q)
		res.Total = first.Total
		return res, err
	}
	return res, err
}
