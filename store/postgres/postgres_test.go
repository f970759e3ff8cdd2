package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
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
