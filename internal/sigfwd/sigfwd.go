package sigfwd

import (
	"os"
	"syscall"
)

// Catcher delivers the caught signals on C until Stop.
type Catcher struct {
	C    chan os.Signal
	stop func()
}

// forwarded reports whether sig is caught and forwarded whoever sends it.
func forwarded(sig int) bool {
	switch syscall.Signal(sig) {
	case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGURG, syscall.SIGPROF, syscall.SIGCHLD, syscall.SIGPIPE:
		return false
	}
	return sig >= 1 && sig < 65 && sig != 32 && sig != 33 && !synchronous(sig)
}

// synchronous reports whether sig is one the kernel raises for a fault of
// the thread that runs (the Go runtime turns it into a panic). It is
// forwarded only when a process sent it.
func synchronous(sig int) bool {
	switch syscall.Signal(sig) {
	case syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGSYS:
		return true
	}
	return false
}

// Stop stops catching: the Go runtime's handlers are back, and C receives
// nothing more.
func (c *Catcher) Stop() { c.stop() }
