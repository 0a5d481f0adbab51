package containerinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/console"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/hooks"
	"github.com/hako-dev/hako/internal/initproto"
	"github.com/hako-dev/hako/internal/mount"
	"github.com/hako-dev/hako/internal/timerslack"
	"github.com/hako-dev/hako/internal/validate"

	"github.com/hako-dev/hako/internal/spec"
)

// Arg0 is argv[0] of a process started as a container init.
const Arg0 = "hako-init"

// EnvFD names the environment variable holding the init socket's fd.
const EnvFD = "_HAKO_INIT_FD"

// IsInit reports whether this process was started as a container init.
func IsInit() bool { return len(os.Args) > 0 && os.Args[0] == Arg0 }

// stepError is a failure of one named step.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func step(name string, err error) error {
	if err == nil {
		return nil
	}
	var se *stepError
	if errors.As(err, &se) {
		return err
	}
	return &stepError{step: name, err: err}
}

// Main is the init's entry point; it never returns.
func Main() {
	runtime.LockOSThread()
	// This thread execs the process: it gives it the caller's timer slack,
	// not the coarse one hako's entry stub set for its own threads.
	timerslack.Restore()
	fd, err := strconv.Atoi(os.Getenv(EnvFD))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hako-init: must be started by hako, not by hand")
		os.Exit(255)
	}
	os.Unsetenv(EnvFD)
	conn := initproto.NewConn(os.NewFile(uintptr(fd), "init-sock"))
	err = run(conn)
	// run only returns on failure: report it to the parent if it listens,
	// else to the container's stderr.
	info := &initproto.ErrorInfo{Message: err.Error()}
	var se *stepError
	if errors.As(err, &se) {
		info.Step = se.step
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		info.Errno = int(errno)
	}
	if conn != nil && conn.Send(&initproto.Message{Kind: initproto.KindError, Error: info}) == nil {
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "hako-init: "+err.Error())
	os.Exit(1)
}

func run(conn *initproto.Conn) error {
	m, _, err := conn.Expect(initproto.KindConfig)
	if err != nil {
		return step("receiving config", err)
	}
	cfg := m.Config
	if cfg == nil {
		return step("receiving config", fmt.Errorf("empty config"))
	}
	if cfg.Exec {
		return runExec(conn, cfg)
	}
	// validate.Decode gives encoding/json's result without its cold start
	// (half a millisecond of reflection in a fresh process).
	sp, err := validate.Decode(cfg.Spec)
	if err != nil {
		return step("decoding config", err)
	}
	s := *sp
	if s.Process == nil {
		return step("decoding config", fmt.Errorf("process is missing"))
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if err := setSysctls(s.Linux.Sysctl); err != nil {
		return err
	}
	if spec.HasNamespace(&s, specs.UTSNamespace) {
		if s.Hostname != "" {
			if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
				return step("setting hostname", fmt.Errorf("hostname %q: %w", s.Hostname, err))
			}
		}
		if s.Domainname != "" {
			if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
				return step("setting domainname", fmt.Errorf("domainname %q: %w", s.Domainname, err))
			}
		}
	}
	if newNetNS(&s) {
		if err := loopbackUp(); err != nil {
			return step("bringing up the loopback interface", err)
		}
	}
	if _, _, err := conn.Expect(initproto.KindCgroupReady); err != nil {
		return step("waiting for the cgroup", err)
	}
	if cfg.NewCgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return step("creating the cgroup namespace", err)
		}
	}
	mc := mount.FromSpec(&s, cfg.Rootfs, cfg.Bundle)
	mc.NoPivot, mc.InUserNS, mc.CgroupNS = cfg.NoPivot, cfg.NewUserNS, spec.HasNamespace(&s, specs.CgroupNamespace)
	if spec.HasNamespace(&s, specs.MountNamespace) {
		if err := mount.Prepare(mc); err != nil {
			return step("preparing the rootfs", err)
		}
	}
	if err := conn.Send(&initproto.Message{Kind: initproto.KindPrePivot}); err != nil {
		return err
	}
	if _, _, err := conn.Expect(initproto.KindContinue); err != nil {
		return step("waiting for createRuntime hooks", err)
	}
	if s.Hooks != nil && len(s.Hooks.CreateContainer) > 0 {
		if err := hooks.Run("createContainer", s.Hooks.CreateContainer, cfg.StateJSON); err != nil {
			return step("createContainer hooks", err)
		}
	}
	// The exec fifo is reopened for writing through our fd directory; the
	// open blocks until `hako start` opens the other end, so it runs on a
	// goroutine. The directory is resolved here, while the host's /proc is
	// still our /proc: the goroutine may run only after the root changed
	// (pivot_root, or --no-pivot's MS_MOVE and chroot), and a path resolved
	// then would name another /proc, or none.
	var fifoDone chan fifoResult
	if cfg.FifoFD >= 0 {
		fdDir, err := unix.Open("/proc/self/fd", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return step("waiting for start", fmt.Errorf("/proc/self/fd: %w", err))
		}
		fifoDone = make(chan fifoResult, 1)
		name := strconv.Itoa(cfg.FifoFD)
		go func() {
			fd, err := unix.Openat(fdDir, name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
			for err == unix.EINTR { // the runtime's preemption signals
				fd, err = unix.Openat(fdDir, name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
			}
			unix.Close(fdDir)
			if err != nil {
				fifoDone <- fifoResult{nil, &os.PathError{Op: "open", Path: "/proc/self/fd/" + name, Err: err}}
				return
			}
			fifoDone <- fifoResult{os.NewFile(uintptr(fd), "exec fifo"), nil}
		}()
	}
	if spec.HasNamespace(&s, specs.MountNamespace) {
		if err := mount.PivotRoot(mc); err != nil {
			return step("changing root", err)
		}
		if err := mount.Finish(mc); err != nil {
			return step("finishing the rootfs", err)
		}
	} else if err := unix.Chroot(cfg.Rootfs); err != nil {
		return step("chroot", err)
	}
	if _, err := unix.Setsid(); err != nil {
		return step("setsid", err)
	}
	if s.Process.Terminal {
		if err := setupTerminal(conn, s.Process.ConsoleSize); err != nil {
			return step("setting up the terminal", err)
		}
	}
	path, loadSeccomp, err := prepareProcess(s.Process, s.Linux.Seccomp, cfg.Seccomp)
	if err != nil {
		return err
	}
	if err := conn.Send(&initproto.Message{Kind: initproto.KindReady}); err != nil {
		return err
	}
	conn.Close()
	conn = nil
	// The fifo stays open (close-on-exec) until the execve: `hako start`
	// reads until EOF, so it returns, and runs poststart hooks, only once
	// startContainer hooks ran and the process was executed (or failed).
	var fifo *os.File
	if fifoDone != nil {
		r := <-fifoDone
		if r.err != nil {
			return step("waiting for start", r.err)
		}
		fifo = r.f
		if _, err := fifo.Write([]byte{'0'}); err != nil {
			return step("waiting for start", err)
		}
	}
	if s.Hooks != nil && len(s.Hooks.StartContainer) > 0 {
		if err := hooks.Run("startContainer", s.Hooks.StartContainer, cfg.StateJSON); err != nil {
			return step("startContainer hooks", err)
		}
	}
	if err := lockDown(s.Process, loadSeccomp, cfg.PreserveFDs); err != nil {
		return err
	}
	err = unix.Exec(path, s.Process.Args, s.Process.Env)
	runtime.KeepAlive(fifo)
	return step("exec", execError(s.Process.Args[0], path, err))
}

type fifoResult struct {
	f   *os.File
	err error
}

func setSysctls(m map[string]string) error {
	for k, v := range m {
		rel := strings.ReplaceAll(k, ".", "/")
		if strings.Contains(k, "/") || strings.Contains(rel, "..") || k == "" {
			return step("setting sysctls", fmt.Errorf("linux.sysctl[%q]: not a sysctl name", k))
		}
		if err := os.WriteFile(filepath.Join("/proc/sys", rel), []byte(v), 0); err != nil {
			return step("setting sysctls", fmt.Errorf("linux.sysctl[%q] = %q: %w", k, v, err))
		}
	}
	return nil
}

func setupTerminal(conn *initproto.Conn, size *specs.Box) error {
	master, slaveName, err := console.NewPty()
	if err != nil {
		return fmt.Errorf("opening /dev/ptmx in the container: %w (is /dev/pts mounted with newinstance and ptmxmode=0666?)", err)
	}
	defer master.Close()
	if size != nil {
		master.Resize(console.WinSize{Height: uint16(size.Height), Width: uint16(size.Width)})
	}
	slave, err := os.OpenFile(slaveName, os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", slaveName, err)
	}
	defer slave.Close()
	if err := conn.Send(&initproto.Message{Kind: initproto.KindConsole}, int(master.Fd())); err != nil {
		return err
	}
	for i := 0; i <= 2; i++ {
		if err := unix.Dup3(int(slave.Fd()), i, 0); err != nil {
			return fmt.Errorf("dup2 of the pty: %w", err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("making %s the controlling terminal: %w", slaveName, err)
	}
	return nil
}

func enterCwd(cwd string) error {
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		var hint string
		switch {
		case errors.Is(err, unix.ENOENT):
			hint = "create it in the rootfs or change process.cwd"
		case errors.Is(err, unix.ENOTDIR):
			hint = "process.cwd must name a directory"
		case errors.Is(err, unix.EACCES):
			hint = "the container's user may not enter it"
		}
		msg := fmt.Sprintf("process.cwd %q: %s", cwd, errnoText(err))
		if hint != "" {
			msg += " — hint: " + hint
		}
		return &wrapped{msg: msg, err: err}
	}
	// A cwd outside the container's root (e.g. reached through a leaked fd)
	// makes getcwd fail or report "(unreachable)".
	wd, err := unix.Getwd()
	if err != nil || !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("process.cwd %q resolves outside the container's root; refusing to start", cwd)
	}
	return nil
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("%s (%s)", errno.Error(), unix.ErrnoName(errno))
	}
	return err.Error()
}
