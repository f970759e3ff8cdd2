package node

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// secureDataDir makes the embedded store's directory private before the
// store opens it: the directory 0700, the database and its -wal and
// -shm files 0600. They hold the cluster key (which signs RTM tickets)
// and every message. A directory or file that is wider is narrowed, with
// a warning (an older ringcast made them 0755 and 0644); one this
// process may not change (another user's) fails the start. The database
// file is created here, 0600, so that SQLite, which gives its -wal and
// -shm files the database's mode, makes them private too.
func secureDataDir(dir, db string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	f, err := os.OpenFile(db, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	f.Close()
	for _, p := range []struct {
		path string
		mode fs.FileMode
	}{{dir, 0o700}, {db, 0o600}, {db + "-wal", 0o600}, {db + "-shm", 0o600}} {
		fi, err := os.Stat(p.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("--data: %w", err)
		}
		if fi.Mode().Perm()&^p.mode == 0 {
			continue
		}
		if err := os.Chmod(p.path, fi.Mode().Perm()&p.mode); err != nil {
			return fmt.Errorf("--data: %s is mode %04o, readable by other local users, and cannot be made private (%w): chmod %o it",
				p.path, fi.Mode().Perm(), err, p.mode)
		}
		log.Warn("made the data directory private: it holds the cluster key and every message",
			"path", p.path, "was", fmt.Sprintf("%04o", fi.Mode().Perm()), "now", fmt.Sprintf("%04o", fi.Mode().Perm()&p.mode))
	}
	return nil
}
