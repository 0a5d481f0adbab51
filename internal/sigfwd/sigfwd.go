package sigfwd

import (
	"os"
	"os/signal"
	"syscall"
)

// Catcher delivers the caught signals on C until Stop.
type Catcher struct {
	C     chan os.Signal
	stop  func()
	ready chan struct{}
}

// Ready waits until every signal is caught: the synchronous ones are
// caught in the background, and until then one sent with kill(2) would
// kill hako.
func (c *Catcher) Ready() { <-c.ready }

// sync are the signals the Go runtime raises itself; they are forwarded
// through os/signal.
var syncSignals = []os.Signal{syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGSYS}

// forwarded reports whether sig is caught by the handler (rather than
// left to the Go runtime, or not forwarded at all).
func forwarded(sig int) bool {
	switch syscall.Signal(sig) {
	case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGURG, syscall.SIGPROF, syscall.SIGCHLD, syscall.SIGPIPE,
		syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGSYS:
		return false
	}
	return sig >= 1 && sig < 65 && sig != 32 && sig != 33
}

// Stop stops catching: the Go runtime's handlers are back, and C receives
// nothing more. The synchronous signals are released in the background
// (one round trip each to the runtime's signal thread).
func (c *Catcher) Stop() { c.stop() }

// notifySync forwards the synchronous signals through os/signal, in the
// background; done is closed once they are caught.
func notifySync(c chan os.Signal) (done chan struct{}, stop func()) {
	done = make(chan struct{})
	go func() {
		signal.Notify(c, syncSignals...)
		close(done)
	}()
	return done, func() {
		go func() {
			<-done
			signal.Stop(c)
		}()
	}
}
