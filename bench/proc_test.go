package bench

import (
	"os"
	"slices"
	"testing"
)

func TestParseProc(t *testing.T) {
	stat, err := os.ReadFile("testdata/proc_stat")
	if err != nil {
		t.Fatal(err)
	}
	// utime 1234 + stime 567 ticks, with a command name holding spaces
	// and parentheses. (That a tick is clockTick is checked against the
	// kernel in TestReadProcSelf.)
	if got, err := parseStatCPU(stat); err != nil || got != 1801*clockTick {
		t.Fatalf("parseStatCPU = %v, %v; want 1801 ticks", got, err)
	}
	status, err := os.ReadFile("testdata/proc_status")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := parseStatusRSS(status); err != nil || got != 1752<<10 {
		t.Fatalf("parseStatusRSS = %d, %v; want %d", got, err, 1752<<10)
	}
	if got, err := parseStatusCPUs(status); err != nil || !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("parseStatusCPUs = %v, %v; want [0 1]", got, err)
	}
	for list, want := range map[string][]int{"0": {0}, "0,2-4,7": {0, 2, 3, 4, 7}, "3-3": {3}} {
		if got, err := parseStatusCPUs([]byte("Cpus_allowed_list:\t" + list + "\n")); err != nil || !slices.Equal(got, want) {
			t.Errorf("parseStatusCPUs(%q) = %v, %v; want %v", list, got, err, want)
		}
	}
	if got, err := parseStatusCPUs([]byte("Name:\tx\n")); got != nil || err != nil {
		t.Errorf("parseStatusCPUs without the line = %v, %v; want nil, nil", got, err)
	}
}

func TestParseProcBad(t *testing.T) {
	for _, stat := range []string{"", "12 (x", "12 (x) S 1 2 3", "12 (x) S 1 2 3 4 5 6 7 8 9 10 u s 0 0"} {
		if _, err := parseStatCPU([]byte(stat)); err == nil {
			t.Errorf("parseStatCPU(%q): no error", stat)
		}
	}
	for _, status := range []string{"", "Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := parseStatusRSS([]byte(status)); err == nil {
			t.Errorf("parseStatusRSS(%q): no error", status)
		}
	}
	for _, list := range []string{"", "x", "1-0", "-1", "0-", "0,,1", "2,1", "0-2,2", "0-70000"} {
		if got, err := parseStatusCPUs([]byte("Cpus_allowed_list:\t" + list + "\n")); err == nil {
			t.Errorf("parseStatusCPUs(%q) = %v, no error", list, got)
		}
	}
}
