package chat

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TS is a Slack timestamp: microseconds since the Unix epoch, written
// "1700000000.000100". Within a channel it is unique and strictly
// increasing with seq.
type TS int64

// TSOf converts a time to a TS.
func TSOf(t time.Time) TS { return TS(t.UnixMicro()) }

// String formats ts the way Slack does: seconds, a dot, six digits.
func (ts TS) String() string {
	return string(ts.Append(nil))
}

// Append appends the formatted ts to b without allocating.
func (ts TS) Append(b []byte) []byte {
	sec, us := int64(ts)/1e6, int64(ts)%1e6
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.')
	var frac [6]byte
	for i := 5; i >= 0; i-- {
		frac[i] = byte('0' + us%10)
		us /= 10
	}
	return append(b, frac[:]...)
}

// ParseTS reads "1700000000.000100" (or a plain number of seconds).
func ParseTS(s string) (TS, error) {
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n < 0 || len(sec) > 12 || len(frac) > 6 {
		return 0, fmt.Errorf("invalid ts %q", s)
	}
	var us int64
	if frac != "" {
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("invalid ts %q", s)
		}
		for range 6 - len(frac) {
			f *= 10
		}
		us = f
	}
	return TS(n*1e6 + us), nil
}
