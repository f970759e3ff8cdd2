// Package config owns ringcast's one Config: the flags that build it, the
// RINGCAST_* environment variables that fill the flags a user did not set,
// and the validation that turns a bad value into a clear error before any
// listener opens. It performs no I/O beyond reading the environment.
package config
