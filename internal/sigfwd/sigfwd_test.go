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

// Signals sent to the process arrive on C: USR1, a realtime signal as
// systemd uses for shutdown, WINCH, and a synchronous one (SIGSYS) when a
// process sends it.
func TestCatchForwardsSignals(t *testing.T) {
	c, err := Catch()
	if err != nil {
		t.Fatal(err)
	}
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

// A fault the kernel raises while signals are caught is still the Go
// runtime's: a nil dereference panics (and can be recovered), it is not
// forwarded.
func TestFaultsStayPanics(t *testing.T) {
	c, err := Catch()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	var p *struct{ x int }
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Fatal("a nil dereference did not panic")
			}
		}()
		p.x = 1
	}()
	select {
	case sig := <-c.C:
		t.Fatalf("the fault was forwarded as %v", sig)
	default:
	}
}
