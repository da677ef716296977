//go:build unix

package report

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used: on a machine shared with other work, records
// per CPU second says what one core does, where wall-clock time says how busy the machine was.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
