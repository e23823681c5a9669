package main

import "syscall"

// lowerThread gives the calling thread the nice value n (0–19), as `nice
// -n N` would give a process: on Linux a nice value belongs to a thread.
// The backup calls it on the thread that streams the backup, which ends
// with the stream (backup.Options.Lower).
func lowerThread(n int) error {
	return syscall.Setpriority(syscall.PRIO_PROCESS, 0, min(max(n, 0), 19))
}
