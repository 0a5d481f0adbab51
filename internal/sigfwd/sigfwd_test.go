package sigfwd

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func expect(t *testing.T, c *Catcher, want syscall.Signal) {
	t.Helper()
	select {
	case got := <-c.C:
		if got != want {
			t.Fatalf("caught %v, want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("signal %v was not caught", want)
	}
}

// Signals sent to the process arrive on C: one of the handler's (USR1, a
// realtime signal as systemd uses for shutdown) and one the Go runtime
// keeps (SIGSYS, sent with kill).
func TestCatchForwardsSignals(t *testing.T) {
	c, err := Catch()
	if err != nil {
		t.Fatal(err)
	}
	c.Ready()
	if _, err := Catch(); err == nil {
		t.Error("a second Catch while the first is active succeeded")
	}
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.Signal(37), syscall.SIGWINCH, syscall.SIGSYS} {
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		expect(t, c, sig)
	}
	c.Stop()
	// Stopped: the runtime's handlers are back (no handler of ours on any
	// forwarded signal), and a new Catch works with the same pipe.
	for sig := 1; sig < 65; sig++ {
		if !forwarded(sig) {
			continue
		}
		if h := currentHandler(t, sig); h == handlerAddr() {
			t.Fatalf("signal %d still has the forwarding handler after Stop", sig)
		}
	}
	c2, err := Catch()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	expect(t, c2, syscall.SIGUSR2)
}
