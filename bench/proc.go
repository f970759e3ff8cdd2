package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ,
// which Linux fixes at 100 on every architecture Go supports
// (getconf CLK_TCK); reading it needs sysconf, i.e. cgo.
const clockTick = 10 * time.Millisecond

// ProcSample is what the bench reads of a process at one moment.
type ProcSample struct {
	At   time.Time
	CPU  time.Duration // user + system time since the process started
	RSS  int64         // resident set size, bytes
	CPUs []int         // the CPUs it may run on (nil: not known)
}

// readProc samples process pid ("self" for the bench itself).
func readProc(pid string) (ProcSample, error) {
	at := time.Now()
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return ProcSample{}, err
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return ProcSample{}, fmt.Errorf("/proc/%s/stat: %w", pid, err)
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return ProcSample{}, err
	}
	rss, err := parseStatusRSS(status)
	if err != nil {
		return ProcSample{}, fmt.Errorf("/proc/%s/status: %w", pid, err)
	}
	cpus, err := parseStatusCPUs(status)
	if err != nil {
		return ProcSample{}, fmt.Errorf("/proc/%s/status: %w", pid, err)
	}
	return ProcSample{At: at, CPU: cpu, RSS: rss, CPUs: cpus}, nil
}

// readServers samples the server processes and sums their CPU and RSS
// (CPUs: the first one's), so a cluster of several processes on this
// machine is measured as one server.
func readServers(pids []int) (ProcSample, error) {
	var sum ProcSample
	for i, pid := range pids {
		s, err := readProc(strconv.Itoa(pid))
		if err != nil {
			return ProcSample{}, err
		}
		if i == 0 {
			sum = s
			continue
		}
		sum.CPU += s.CPU
		sum.RSS += s.RSS
	}
	return sum, nil
}

// joinInts formats ids as "1,2,3".
func joinInts(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ",")
}

// parseStatCPU reads utime + stime (fields 14 and 15) of /proc/PID/stat.
// The command name (field 2) is in parentheses and may hold spaces and
// parentheses itself, so fields are counted from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name")
	}
	f := bytes.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime %q or stime %q", f[11], f[12])
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// parseStatusRSS reads VmRSS of /proc/PID/status, in bytes.
func parseStatusRSS(status []byte) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("bad VmRSS line %q", bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad VmRSS line %q", bytes.TrimSpace(line))
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS line (a kernel thread, or a zombie)")
}

// maxCPUs is above any CPU number Linux gives (NR_CPUS is at most 8192).
const maxCPUs = 1 << 16

// parseStatusCPUs reads Cpus_allowed_list of /proc/PID/status ("0-3,6"):
// the CPUs the process may run on, in order; nil when the line is absent.
func parseStatusCPUs(status []byte) ([]int, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("Cpus_allowed_list:"))
		if !ok {
			continue
		}
		var cpus []int
		for r := range strings.SplitSeq(string(bytes.TrimSpace(rest)), ",") {
			lo, hi, isRange := strings.Cut(r, "-")
			if !isRange {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil || a < 0 || b < a || b >= maxCPUs || (len(cpus) > 0 && a <= cpus[len(cpus)-1]) {
				return nil, fmt.Errorf("bad Cpus_allowed_list line %q", bytes.TrimSpace(line))
			}
			for c := a; c <= b; c++ {
				cpus = append(cpus, c)
			}
		}
		return cpus, nil
	}
	return nil, nil
}
