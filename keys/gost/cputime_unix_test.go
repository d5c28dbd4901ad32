//go:build unix

package gost

import "syscall"

// cpuSeconds returns the CPU time used by the process so far. Benchmarks
// report rates per CPU second beside the wall-clock ones, as openssl speed
// does, so that other load on a shared machine does not skew the ratio.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
