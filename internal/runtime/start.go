package runtime

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/hooks"
	"github.com/hako-dev/hako/internal/state"
)

// Start lets a created container's init execve its process.
func (r *Runtime) Start(id string) error { return r.start(id, nil) }

// start starts id; known, when given, is the container as this process
// created it (run), which spares reading it back.
func (r *Runtime) start(id string, known *Container) error {
	unlock, err := r.Store.Lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	c, err := r.current(id, known)
	if err != nil {
		return err
	}
	if c.Status != state.Created {
		hint := ""
		switch c.Status {
		case state.Running, state.Paused:
			hint = "it has been started already"
		case state.Stopped:
			hint = fmt.Sprintf("its process has exited; `hako delete %s` removes it", id)
		}
		return &StateError{ID: id, Status: c.Status, Op: "start", Hint: hint}
	}
	if c.NoProcess {
		return fmt.Errorf("container %q: process: not set in its config.json, so there is nothing to start (process is REQUIRED when start is called) — hint: `hako delete %s`, then create it with a process", id, id)
	}
	if err := c.releaseInit(); err != nil {
		return err
	}
	if h := c.Hooks; h != nil && len(h.Poststart) > 0 {
		// A failing poststart hook is a warning: the remaining hooks and
		// the lifecycle go on as if it had succeeded (runtime-spec).
		for _, err := range hooks.RunAll("poststart", h.Poststart, hookState(c.Container, state.Running, c.InitPid)) {
			slog.Warn(fmt.Sprintf("container %q: %v", id, err))
		}
	}
	return nil
}

// releaseInit opens the exec fifo, which unblocks the init's open of the
// other end; the init then writes one byte, runs startContainer hooks and
// execs, which closes its end. releaseInit returns after that EOF, so that
// poststart hooks follow the exec as the OCI spec orders them. While
// waiting, the init's liveness is checked so that a dead init cannot hang
// `start`.
func (c *Container) releaseInit() error {
	path := filepath.Join(c.dir, state.FifoFile)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("container %q: opening exec fifo: %w", c.ID, err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 1)
	released := false
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 100)
		if err != nil && err != unix.EINTR {
			return err
		}
		if n > 0 {
			k, err := unix.Read(fd, buf)
			if k == 1 {
				released = true
				continue
			}
			if err == unix.EAGAIN {
				continue
			}
			if released {
				break // EOF after the byte: the init exec'd (or died trying)
			}
			return fmt.Errorf("container %q: its init exited before it could start (see the container's stderr)", c.ID)
		}
		if !c.InitAlive() {
			if released {
				break
			}
			return fmt.Errorf("container %q: its init exited before it could start", c.ID)
		}
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("container %q: removing exec fifo: %w", c.ID, err)
	}
	c.Status = state.Running
	return nil
}
