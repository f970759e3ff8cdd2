package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the database at path to the new
// file to while other connections (running nodes) go on committing.
// VACUUM INTO reads one snapshot (a read transaction of the WAL) and
// writes it compacted: every commit that finished before Backup began is
// in the copy, later ones may be. Commits are not held up; only the
// checkpoints cannot copy past the snapshot until it ends.
func Backup(ctx context.Context, path, to string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(to); err == nil {
		return fmt.Errorf("backup: %s exists", to)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, to); err != nil {
		os.Remove(to)
		return fmt.Errorf("backup: %w", err)
	}
	return syncFile(to)
}

// ErrInUse: Restore found the database's WAL, which a running node (or
// one that did not close its store) keeps.
var ErrInUse = errors.New("the store is in use (its WAL exists): stop every node on this data directory first")

// Restore replaces the database at path by the backup from, which it
// checks first (an intact SQLite database holding a ringcast store).
// Every node on path must be stopped: Restore refuses while the WAL
// exists. The copy is written beside path and renamed over it, so a
// failure leaves path as it was.
func Restore(ctx context.Context, from, path string) error {
	if err := check(ctx, from); err != nil {
		return fmt.Errorf("restore: %s: %w", from, err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		return fmt.Errorf("restore: %w", ErrInUse)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	tmp := path + ".restore"
	if err := copyFile(from, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore: %w", err)
	}
	os.Remove(path + "-shm")
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore: %w", err)
	}
	return syncFile(filepath.Dir(path))
}

// check opens a backup read-only and checks that it is intact and a
// ringcast store.
func check(ctx context.Context, file string) error {
	if _, err := os.Stat(file); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&ok); err != nil {
		return err
	}
	if ok != "ok" {
		return fmt.Errorf("damaged: %s", ok)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM meta`).Scan(&n); err != nil {
		return fmt.Errorf("not a ringcast store: %w", err)
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncFile makes a file's (or a directory's) contents durable.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
