package sqldbtest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU time for benchmarks that report where a hot path's time goes: the
// test process's own, and the database's (Linux; zero elsewhere). A
// benchmark takes both before and after its measured part.

// SelfCPU is this process's CPU time, user and system.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PostgresCPU is the CPU time of the running processes named postgres
// (Linux /proc; 0 elsewhere).
func PostgresCPU() time.Duration {
	var ticks int64
	for _, pid := range PostgresPIDs() {
		f := procStat(pid)
		if len(f) > 13 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// PostgresPIDs are the running processes named postgres.
func PostgresPIDs() []int {
	ds, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range ds {
		pid, err := strconv.Atoi(d.Name())
		if err == nil && procStat(pid) != nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procStat returns the fields after the command name of /proc/PID/stat
// when the process is named postgres.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i || s[i+1:j] != "postgres" || j+2 > len(s) {
		return nil
	}
	return strings.Fields(s[j+2:])
}
