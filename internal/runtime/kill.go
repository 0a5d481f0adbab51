package runtime

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/state"
)

// ParseSignal accepts "TERM", "SIGTERM", "sigterm" or "15".
func ParseSignal(s string) (unix.Signal, error) {
	if s == "" {
		return unix.SIGTERM, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		// 0 probes, as kill(2)'s: the container is alive or it is not.
		if n < 0 || n > 64 {
			return 0, fmt.Errorf("signal %d is out of range 0-64", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q — hint: use a name like TERM, KILL, HUP, or a number", s)
	}
	return sig, nil
}

// Kill sends sig to the container's init, or with all to every process in
// its cgroup.
func (r *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	c, err := r.Load(id)
	if err != nil {
		return err
	}
	if c.Status == state.Stopped {
		return fmt.Errorf("container %q: %w", id, ErrNotRunning)
	}
	if all {
		cg, err := c.cgroup()
		if err != nil {
			return err
		}
		if cg != nil && sig != 0 {
			pids, err := cg.Pids()
			if err != nil {
				return fmt.Errorf("container %q: listing its processes: %w", id, err)
			}
			if c.Status == state.Paused {
				cg.Thaw()
			}
			for _, p := range pids {
				unix.Kill(p, sig)
			}
			return nil
		}
	}
	return c.signalInit(sig)
}

// signalInit signals the init through a pidfd checked against the recorded
// start time, so a reused pid is never signalled.
func (c *Container) signalInit(sig unix.Signal) error {
	pfd, err := unix.PidfdOpen(c.InitPid, 0)
	if err != nil {
		if err == unix.ESRCH {
			return fmt.Errorf("container %q: %w", c.ID, ErrNotRunning)
		}
		return unix.Kill(c.InitPid, sig)
	}
	defer unix.Close(pfd)
	if !c.InitAlive() {
		return fmt.Errorf("container %q: %w", c.ID, ErrNotRunning)
	}
	if err := unix.PidfdSendSignal(pfd, sig, nil, 0); err != nil {
		if err == unix.ESRCH {
			return fmt.Errorf("container %q: %w", c.ID, ErrNotRunning)
		}
		return fmt.Errorf("container %q: sending %s: %w", c.ID, unix.SignalName(sig), err)
	}
	return nil
}

// waitInitExit waits until the init is gone or a zombie, via its pidfd.
func (c *Container) waitInitExit(timeoutMs int) bool {
	pfd, err := unix.PidfdOpen(c.InitPid, 0)
	if err != nil {
		return true
	}
	defer unix.Close(pfd)
	for waited := 0; waited < timeoutMs; waited += 100 {
		if !c.InitAlive() {
			return true
		}
		p := []unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(p, 100); n > 0 {
			return true
		}
	}
	return !c.InitAlive()
}
