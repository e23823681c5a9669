package backup

import (
	"errors"
	"os"
	"syscall"
)

// openDirect creates path for writing with O_DIRECT when the file system
// allows it, and says whether it did.
func openDirect(path string) (*os.File, bool, error) {
	const flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	f, err := os.OpenFile(path, flags|syscall.O_DIRECT, 0o600)
	if err == nil {
		return f, true, nil
	}
	if !isInvalid(err) {
		return nil, false, err
	}
	f, err = os.OpenFile(path, flags, 0o600)
	return f, false, err
}

// setDirect turns O_DIRECT on or off on an open file.
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		fl, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if e != 0 {
			serr = e
			return
		}
		if on {
			fl |= syscall.O_DIRECT
		} else {
			fl &^= syscall.O_DIRECT
		}
		if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFL, fl); e != 0 {
			serr = e
		}
	})
	return errors.Join(err, serr)
}

func isInvalid(err error) bool { return errors.Is(err, syscall.EINVAL) }
