package spawn

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/sysprog"
	"github.com/hako-dev/hako/internal/timerslack"
)

// The two runners of a compiled setup:
//
//   - the raw child: a CLONE_VM child of hako on a stack of its own that
//     runs the program's ops as raw system calls and never re-enters the Go
//     runtime (package sysprog). It is the default.
//   - the Go runner: hako executed as "hako-init" (package goinit), which
//     reads the same program and runs the same ops on its locked thread,
//     stopping at the program's stages for what only Go can do: hooks
//     inside the container, tmpcopyup, waiting for start before
//     startContainer hooks. The raw child starts it: it runs the program
//     up to the point where it is in the container's namespaces (a
//     multi-threaded Go process cannot join a user namespace, nor unshare
//     one) and executes hako-init there, from a read-only mount of hako,
//     with the program in a sealed memfd. Where there is no raw child
//     (architectures other than amd64) os/exec starts it in the new
//     namespaces and a locked thread of ours joins the others first.

// Init argv[0] and environment; they must match internal/goinit.
const (
	initArg0     = "hako-init"
	envProgramFD = "_HAKO_PROGRAM_FD"
)

const (
	rawRunner = "raw"
	goRunner  = "go"
)

// runner is which runner runs a program, and why.
type runner struct{ name, why string }

// chooseRunner picks the runner of p: the raw child unless the program
// needs Go, the raw child does not exist here, or HAKO_INIT=go forces
// the Go runner (to compare the two).
func chooseRunner(p *sysprog.Program) runner {
	switch {
	case !sysprog.Supported:
		return runner{goRunner, "no raw child on this architecture"}
	case os.Getenv("HAKO_INIT") == "go":
		return runner{goRunner, "HAKO_INIT=go"}
	case p.NeedsGo() != "":
		return runner{goRunner, p.NeedsGo()}
	}
	return runner{rawRunner, "the default"}
}

// start starts the runner r with the plan's program. The runner owns the
// parent's end of the socket from then on, and the plan's fds are closed.
func (pl *plan) start(r runner) (*sysprog.Child, error) {
	slog.Debug("container setup", "runner", r.name, "why", r.why, "ops", pl.p.Len())
	pl.started = true
	defer pl.fds.close()
	var c *sysprog.Child
	var err error
	switch {
	case r.name == rawRunner:
		c, err = pl.p.Start(pl.ns.rawFlags(), pl.parentEnd)
	case sysprog.Supported:
		c, err = pl.handOver()
	default:
		return pl.startGo(r)
	}
	if err != nil {
		return nil, &Error{Step: "starting the container's setup", Err: err}
	}
	return c, nil
}

// handOver starts the raw child in Go mode: at the program's Handover it
// executes hako-init (from a read-only mount of hako, put at exeFD) with
// the program (in a sealed memfd, put at progFD).
func (pl *plan) handOver() (*sysprog.Child, error) {
	prog, err := programFile(pl.p.Marshal())
	if err != nil {
		unix.Close(pl.parentEnd)
		return nil, err
	}
	defer prog.Close()
	exe, err := SafeExecutable()
	if err != nil {
		unix.Close(pl.parentEnd)
		return nil, err
	}
	defer exe.Close()
	for _, f := range []struct {
		from *os.File
		to   int
	}{{exe, pl.exeFD}, {prog, pl.progFD}} {
		if err := unix.Dup3(int(f.from.Fd()), f.to, unix.O_CLOEXEC); err != nil {
			unix.Close(pl.parentEnd)
			return nil, fmt.Errorf("placing the Go runner's files: %w", err)
		}
	}
	return pl.p.StartGo(pl.ns.rawFlags(), pl.parentEnd)
}

// startGo starts the Go runner where there is no raw child: hako, from a
// read-only mount of itself, in the new namespaces (os/exec's clone, with the id maps written before
// it runs), after a locked thread of ours joined the namespaces given by
// path, with the program's fds at their numbers and the program itself in
// a memfd.
func (pl *plan) startGo(r runner) (*sysprog.Child, error) {
	for _, n := range pl.ns.join {
		if n.Type == specs.UserNamespace {
			unix.Close(pl.parentEnd)
			return nil, fmt.Errorf("the Go runner (needed: %s) cannot join the user namespace %q: a multi-threaded Go process cannot setns into a user namespace — hint: the raw runner can; without the Go runner's reason (hooks inside the container, tmpcopyup), or without HAKO_INIT=go, hako uses it", r.why, n.Path)
		}
	}
	if pl.ns.joins(specs.MountNamespace) && !selfIsStatic() {
		unix.Close(pl.parentEnd)
		return nil, errors.New("this hako binary is dynamically linked, so it cannot run inside the container's mount namespace — hint: build it with `make build` (static), or `CGO_ENABLED=0 go build -tags osusergo,netgo ./cmd/hako`")
	}
	prog, err := programFile(pl.p.Marshal())
	if err != nil {
		unix.Close(pl.parentEnd)
		return nil, err
	}
	defer prog.Close()
	at := pl.fds.byNumber()
	for _, fd := range pl.ns.joinFDs {
		delete(at, fd) // the raw child's setns; this process is started in them
	}
	top := 2
	for fd := range at {
		top = max(top, fd)
	}
	progFD := top + 1
	at[progFD] = prog
	exe, err := SafeExecutable()
	if err != nil {
		unix.Close(pl.parentEnd)
		return nil, err
	}
	defer exe.Close()
	// The path is resolved in the new process after its fds are placed:
	// the executable's fd must lie above all of them.
	exeFD, err := unix.FcntlInt(exe.Fd(), unix.F_DUPFD_CLOEXEC, progFD+1)
	if err != nil {
		unix.Close(pl.parentEnd)
		return nil, fmt.Errorf("duplicating the executable fd: %w", err)
	}
	defer unix.Close(exeFD)
	cmd := &exec.Cmd{
		Path:       "/proc/self/fd/" + strconv.Itoa(exeFD),
		Args:       []string{initArg0},
		Stdin:      orStd(pl.stdio[0], os.Stdin),
		Stdout:     orStd(pl.stdio[1], os.Stdout),
		Stderr:     orStd(pl.stdio[2], os.Stderr),
		ExtraFiles: sysprog.ExtraFiles(at),
		// The runner's Go runtime starts with one P. The environment is
		// the runner's own: the process gets process.env, hooks theirs.
		Env: []string{envProgramFD + "=" + strconv.Itoa(progFD), "GOMAXPROCS=1"},
	}
	attr := &syscall.SysProcAttr{Cloneflags: pl.ns.newFlags}
	if pl.ns.newUser {
		attr.UidMappings = idMaps(pl.ns.uidMaps)
		attr.GidMappings = idMaps(pl.ns.gidMaps)
		attr.GidMappingsEnableSetgroups = true
		// Root of the new user namespace before it is executed: the clone
		// leaves it with the host's (unmapped) uid, and execve would then
		// drop every capability it needs.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}
	cmd.SysProcAttr = attr
	if err := startJoined(cmd, pl.ns.join); err != nil {
		unix.Close(pl.parentEnd)
		return nil, err
	}
	c, err := pl.p.Attach(cmd.Process.Pid, pl.parentEnd)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	cmd.Process.Release() // waited for through the Child's pidfd
	return c, nil
}

// programFile is a sealed memfd holding a marshalled program.
func programFile(b []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("hako-program", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create for the setup program: %w", err)
	}
	f := os.NewFile(uintptr(fd), "hako-program")
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the setup program: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the setup program: %w", err)
	}
	return f, nil
}

// userMaps answers the program's 'U': the raw child's new user namespace
// gets its id maps (a Go runner started by os/exec got them from it), then
// it goes on.
func (pl *plan) userMaps(r runner, child *sysprog.Child) error {
	if err := child.Expect('U'); err != nil {
		return childErr(err)
	}
	if r.name == rawRunner || sysprog.Supported { // os/exec wrote them for the Go runner it started
		if err := writeIDMaps(child.Pid, pl.ns.uidMaps, pl.ns.gidMaps, "linux."); err != nil {
			return err
		}
	}
	if err := child.Continue(); err != nil {
		return childErr(child.Expect('R'))
	}
	return nil
}

func idMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	var out []syscall.SysProcIDMap
	for _, x := range m {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(x.ContainerID), HostID: int(x.HostID), Size: int(x.Size)})
	}
	return out
}

// startJoined starts cmd, first joining the namespaces given by path on a
// dedicated OS thread. That thread is never unlocked, so it exits with its
// goroutine and never serves other goroutines in foreign namespaces.
func startJoined(cmd *exec.Cmd, join []specs.LinuxNamespace) error {
	if len(join) == 0 {
		return startErr(timerslack.Fork(cmd.Start))
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// never UnlockOSThread: the thread is tainted
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_FS): %w", err)
			return
		}
		// Open every namespace first: once the mount namespace is joined,
		// /proc/PID paths would resolve in the container's /proc.
		fds := make([]int, len(join))
		defer func() {
			for _, fd := range fds {
				if fd > 0 {
					unix.Close(fd)
				}
			}
		}()
		for i, n := range join {
			fd, err := unix.Open(n.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				errc <- fmt.Errorf("linux.namespaces: %s namespace path %q: %w", n.Type, n.Path, err)
				return
			}
			fds[i] = fd
		}
		for i, n := range join {
			if err := unix.Setns(fds[i], int(nsFlags[n.Type])); err != nil {
				hint := ""
				if errors.Is(err, unix.EINVAL) {
					hint = fmt.Sprintf(" — hint: is %q really a %s namespace (e.g. /proc/PID/ns/%s)?", n.Path, n.Type, nsFile(n.Type))
				}
				errc <- fmt.Errorf("linux.namespaces: joining %s namespace %q: %w%s", n.Type, n.Path, err, hint)
				return
			}
		}
		errc <- startErr(timerslack.Fork(cmd.Start))
	}()
	return <-errc
}

func startErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("starting the Go runner: %w", err)
}
