package security

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SeccompLoader returns a function that installs the BPF program filter
// with seccomp(SECCOMP_SET_MODE_FILTER, flags); a nil filter installs
// nothing. The program was compiled beforehand, in the parent (package
// internal/seccomp), so the loader only makes the system call and can run
// right before execve. The filter applies to the calling thread only,
// unless flags hold SECCOMP_FILTER_FLAG_TSYNC. Loading a filter needs
// no_new_privs or CAP_SYS_ADMIN (see the package documentation for the
// order).
func SeccompLoader(filter []unix.SockFilter, flags uint) func() error {
	if len(filter) == 0 {
		return func() error { return nil }
	}
	return func() error { return loadBPF(filter, flags) }
}

// loadBPF installs prog with seccomp(SECCOMP_SET_MODE_FILTER, flags).
func loadBPF(prog []unix.SockFilter, flags uint) error {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno == 0 && r != 0 {
		// With SECCOMP_FILTER_FLAG_TSYNC, the id of a thread that could
		// not be synchronised.
		return fmt.Errorf("linux.seccomp: loading the filter: thread %d could not be synchronised (SECCOMP_FILTER_FLAG_TSYNC)", r)
	}
	if errno != 0 {
		return loadError(errno)
	}
	return nil
}
