//go:build unix

package triage

import (
	"syscall"
	"time"
)

// cpuTime is the user and system CPU time of the process so far; training
// is measured in it as well as in wall time, because wall time on a shared
// machine measures the other tenants.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
