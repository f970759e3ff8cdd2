// Package pgtest gives tests a PostgreSQL database without a system
// service: RINGCAST_TEST_POSTGRES when it is set (a URL of a server on
// which the test may create databases), otherwise a throwaway cluster
// that it starts from Debian's binaries (initdb, postgres) in a
// temporary directory, on a unix socket, and removes afterwards. As
// root, which initdb refuses, the cluster runs as the postgres user
// (runuser -u postgres) in a directory that user owns.
//
// With neither, tests skip with one line, except under CI=true, where
// that is a failure. It is test support only: nothing in ringcast's
// binary imports it.
package pgtest
