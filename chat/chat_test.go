package chat

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseTS(t *testing.T) {
	tests := []struct {
		in      string
		want    TS
		wantErr bool
	}{
		{"1700000000.000100", 1700000000000100, false},
		{"1700000000", 1700000000000000, false},
		{"1700000000.1", 1700000000100000, false},
		{"0.000001", 1, false},
		{"", 0, true},
		{"abc", 0, true},
		{"-1.000000", 0, true},
		{"1700000000.0000001", 0, true}, // more than six fraction digits
		{"1700000000.-1", 0, true},
		{"1234567890123.0", 0, true}, // more than twelve digits of seconds
		{"1.x", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseTS(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseTS(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestTSString(t *testing.T) {
	for _, ts := range []TS{0, 1, 1700000000000100, TSOf(time.Unix(1700000000, 5000))} {
		s := ts.String()
		back, err := ParseTS(s)
		if err != nil || back != ts {
			t.Errorf("%d -> %q -> %d, %v", ts, s, back, err)
		}
	}
	if got := TS(1700000000000100).String(); got != "1700000000.000100" {
		t.Errorf("String = %q", got)
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewID('C')
		if len(id) != 11 || id[0] != 'C' {
			t.Fatalf("id %q", id)
		}
		for _, c := range id[1:] {
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
				t.Fatalf("id %q has %q", id, c)
			}
		}
		if seen[id] {
			t.Fatalf("id %q twice", id)
		}
		seen[id] = true
	}
}
