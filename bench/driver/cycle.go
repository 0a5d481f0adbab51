package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// runtime is one OCI runtime CLI with its own --root.
type runtime struct {
	bin, root, bundle string
}

// cmd builds `BIN --root ROOT args...` with stdin and stdout on /dev/null
// and stderr in an unlinked temp file, read back by errText. Not a pipe: a
// detached container inherits the runtime's stdio and would keep a pipe
// open, so that waiting for `create` would wait for the container.
func (r runtime) cmd(args ...string) (*exec.Cmd, *os.File, error) {
	f, err := os.CreateTemp("", "driver-stderr-")
	if err != nil {
		return nil, nil, err
	}
	os.Remove(f.Name())
	c := exec.Command(r.bin, append([]string{"--root", r.root}, args...)...)
	c.Stderr = f
	return c, f, nil
}

// run runs the command and returns a descriptive error on failure.
func (r runtime) run(c *exec.Cmd, stderr *os.File) error {
	defer stderr.Close()
	if err := c.Run(); err != nil {
		b, _ := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(stderr.Fd())))
		return fmt.Errorf("%s: %v: %s", strings.Join(c.Args, " "), err, strings.TrimSpace(string(b)))
	}
	return nil
}

func (r runtime) do(args ...string) error {
	c, stderr, err := r.cmd(args...)
	if err != nil {
		return err
	}
	return r.run(c, stderr)
}

// cycle creates a container, starts it, waits until its process exits and
// deletes it. The process is reparented to us (a subreaper) when create
// exits, so we wait on it directly.
func cycle(r runtime, id string) error {
	dir, err := os.MkdirTemp("", "driver-pid-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pidFile := filepath.Join(dir, "pid")
	if err := r.do("create", "--bundle", r.bundle, "--pid-file", pidFile, id); err != nil {
		return err
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("pid file %s: %q", pidFile, b)
	}
	if err := r.do("start", id); err != nil {
		r.do("delete", "--force", id)
		return err
	}
	if err := waitPid(pid); err != nil {
		return err
	}
	return r.do("delete", id)
}

// waitPid waits for pid to exit and reaps it when it is our child.
func waitPid(pid int) error {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			continue
		case unix.ECHILD:
			return waitForeign(pid)
		default:
			return fmt.Errorf("wait4 %d: %w", pid, err)
		}
	}
}

// waitForeign waits for a process that is not our child, via its pidfd.
func waitForeign(pid int) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ESRCH {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(fd)
	for {
		_, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, -1)
		if err != unix.EINTR {
			return err
		}
	}
}

// many runs n cycles at once and returns the first error.
func many(n int, r runtime, id string) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = cycle(r, id+"-"+strconv.Itoa(i))
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
