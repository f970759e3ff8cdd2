package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// ClientKey is the admin key a client command (status, token, bench)
// sends: --admin-key, --admin-key-file or $RINGCAST_ADMIN_KEY, so that it
// need not be in argv.
type ClientKey struct{ Key, File string }

// Bind registers --admin-key and --admin-key-file on fs.
func (k *ClientKey) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&k.Key, "admin-key", "", "admin key (default $RINGCAST_ADMIN_KEY)")
	fs.StringVar(&k.File, "admin-key-file", "", "file holding the admin key")
}

// Given reports whether a key is given anywhere.
func (k *ClientKey) Given() bool {
	return k.Key != "" || k.File != "" || os.Getenv("RINGCAST_ADMIN_KEY") != ""
}

// Get returns the key: the flag, else the file's first line, else the
// environment.
func (k *ClientKey) Get() (string, error) {
	switch {
	case k.Key != "":
		return k.Key, nil
	case k.File != "":
		b, err := os.ReadFile(k.File)
		if err != nil {
			return "", fmt.Errorf("--admin-key-file: %w", err)
		}
		key, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		return strings.TrimSpace(key), nil
	case os.Getenv("RINGCAST_ADMIN_KEY") != "":
		return os.Getenv("RINGCAST_ADMIN_KEY"), nil
	}
	return "", errors.New("the admin key is required: --admin-key-file, $RINGCAST_ADMIN_KEY or --admin-key")
}
