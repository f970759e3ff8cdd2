package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
	"github.com/ringcast/ringcast/store/postgres/pgtest"
	"github.com/ringcast/ringcast/store/storetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if benchServer.srv != nil {
		benchServer.srv.Stop()
	}
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		code = 1
	}
	os.Exit(code)
}

func open(url string) func() (store.Store, error) {
	return func() (store.Store, error) { return Open(context.Background(), url) }
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (store.Store, error) { return open(pgtest.DB(t)) })
}

func TestSchema(t *testing.T) {
	storetest.RunSchema(t, func(t *testing.T) storetest.Schema {
		url := pgtest.DB(t)
		exec := func(t *testing.T, q string, args []any, dest ...any) {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			rows, err := conn.Query(ctx, q, args...)
			if err == nil {
				if rows.Next() && len(dest) > 0 {
					err = rows.Scan(dest...)
				}
				rows.Close()
				err = errors.Join(err, rows.Err())
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		return storetest.Schema{
			Open: open(url),
			Version: func(t *testing.T) int {
				var v int
				exec(t, `SELECT max(version) FROM schema_migrations`, nil, &v)
				return v
			},
			SetVersion: func(t *testing.T, v int) {
				exec(t, `INSERT INTO schema_migrations(version, name) VALUES($1, 'from the future')`, []any{v})
			},
			Known: SchemaVersion,
		}
	})
}

// TestSearchMigration: the index's migration fills it from a log that
// already has messages, edits and deletes: each message in its current
// state, the deleted one left out.
func TestSearchMigration(t *testing.T) {
	url := pgtest.DB(t)
	ctx := context.Background()
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	const ts = chat.TS(1_700_000_000_000_000)
	post := func(seq uint64, k chat.Kind, text string, target chat.TS) chat.Message {
		m := chat.Message{Channel: "C1", Seq: seq, TS: ts + chat.TS(seq), User: "U1", Text: text}
		if k != chat.KindMessage {
			m.More = &chat.More{Kind: k, Target: target}
		}
		return m
	}
	if _, err := s.Append(ctx, []chat.Message{
		post(1, chat.KindMessage, "first words", 0), post(2, chat.KindMessage, "second words", 0),
		post(3, chat.KindEdit, "first edited", ts+1), post(4, chat.KindEdit, "first edited again", ts+1),
		post(5, chat.KindDelete, "", ts+2), post(6, chat.KindReactionAdd, "", ts+1),
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	// Back to the version before the index (step 6; step 7, closed DMs,
	// goes too).
	_, err = conn.Exec(ctx, `DROP TABLE search_docs; DROP TABLE dm_closed`)
	if err == nil {
		_, err = conn.Exec(ctx, `DELETE FROM schema_migrations WHERE version >= 6`)
	}
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Search(ctx, store.SearchQuery{Channels: []string{"C1"}, Limit: 10, ByTime: true})
	if err != nil || r.Total != 1 || len(r.Messages) != 1 || r.Messages[0].Text != "first edited again" {
		t.Fatalf("after the migration: %+v, %v", r, err)
	}
}
