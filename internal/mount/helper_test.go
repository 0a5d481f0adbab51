package mount

// The root tests compile each scenario's Config into a setup program
// (Compile) and run it on each runner, as internal/spawn does:
//
//   - raw: the CLONE_VM child of sysprog, started in new namespaces with
//     Program.Start. The program ends by signalling 'D' and waiting; the
//     test then probes the container from a locked OS thread of its own
//     that entered the child's mount namespace and chrooted into its root
//     (probeInside), and kills the child.
//   - go: the raw child started with Program.StartGo hands the program
//     over (Handover) to the Go runner, this test binary executed again
//     (TestMain: goRunnerMain), which runs the rest of it, its stages
//     too; a last stage runs the probes inside the container and writes
//     their results to a pipe.
//
// A scenario in a user namespace does what spawn does: the program signals
// 'U' and waits, the parent writes the id maps (0 0 65536), the program
// becomes root there. An outer scenario is a re-executed test binary with
// a mount namespace of its own, set up as a hostile host would have it,
// which runs the inner scenario on the chosen runner and reports how its
// own mount table changed.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/stage"
	"github.com/hako-dev/hako/internal/sysprog"
	"github.com/hako-dev/hako/internal/sysprog/sysprogtest"
)

const (
	helperEnv    = "HAKO_MOUNT_TEST_SCENARIO" // the outer helper: a scenario file
	runnerEnv    = "HAKO_MOUNT_TEST_RUNNER"   // the Go runner: the program's fd
	resultMarker = "HAKO-MOUNT-RESULT:"
	// probeStage is the Go runner's stage that runs the probes: its
	// arguments are the pipe for the result, the probes as JSON and their
	// length.
	probeStage = 100
)

// The runners every scenario runs on.
var runners = []string{"raw", "go"}

// The main goroutine keeps the main thread: the threads that probe a
// container (probeInside) are never unlocked, and the thread of a
// goroutine that ends locked is terminated, but the main thread is only
// parked, and /proc/self (which Compile reads: the cgroups, the mount
// table) shows the main thread's namespaces and root.
func init() { runtime.LockOSThread() }

func TestMain(m *testing.M) {
	if fd := os.Getenv(runnerEnv); fd != "" {
		goRunnerMain(fd) // never returns
	}
	if file := os.Getenv(helperEnv); file != "" {
		outerMain(file) // never returns
	}
	os.Exit(m.Run())
}

// scenario is one setup to compile and run.
type scenario struct {
	Config     Config
	Runner     string  // "raw" or "go"
	Probes     []probe // run inside the container after the setup
	Outer      *outer  // when set, the outer namespace, which runs the rest
	Cloneflags uintptr // the program's namespaces (CLONE_NEWUSER is added for UserNS)
	UserNS     bool    // a user namespace mapping 0 -> 0 (65536 ids)
	// NoPrepare: the program is not Compile's but one mount of a tmpfs at
	// Rootfs/tmp, without making "/" private first: the negative control
	// of the propagation test.
	NoPrepare bool
	// build, when set, compiles the program instead of Compile (in this
	// process only: it is not marshalled).
	build func(p *sysprog.Program) error
}

// outer is a first namespace the test controls completely: it sets up
// mounts as a hostile or unusual host would have them, runs the real
// scenario, and reports how its own mount table changed.
type outer struct {
	MakeShared  bool   // make "/" rshared, so that a leak would show here
	LockedTmpfs string // mount a nosuid,nodev,noexec tmpfs here with a file "hello"
	// OwnPID: the outer namespace is PID 1 of a pid namespace of its own,
	// with "/" private and a /proc of its own: the inner scenario, run
	// without a mount namespace of its own, is in PID 1's.
	OwnPID bool
}

type probe struct {
	Op   string // stat, readlink, read, write, mkdir, ls, statfs, mountinfo, exists
	Path string
}

type probeResult struct {
	Out string
	Err string // errno name, or the error text
}

type result struct {
	Err     string
	Step    string
	Field   string
	Errno   string // the errno name, only when errors.Is(err, errno) holds
	IsError bool   // errors.As(err, **Error)
	// Compiled: the error came from running the program; false for one
	// Compile returned (a check that needs no container).
	Compiled bool
	// Refused is Start's refusal of a program the raw child cannot run.
	Refused string
	Probes  map[string]probeResult
	// InitPid is the container's init (pid 1 in its namespace) as the
	// probes see it: the raw child's pid for the test's thread outside,
	// 1 for the Go runner inside.
	InitPid int
	// NSInitPid is the pid the runner has in its own pid namespace.
	NSInitPid int
	// outer scenarios
	Inner       *result
	MountsAdded []string
	MountsGone  []string
}

func (p probe) key() string { return p.Op + " " + p.Path }

// outerMain is the outer helper's entry point.
func outerMain(file string) {
	var sc scenario
	data, err := os.ReadFile(file)
	if err == nil {
		err = json.Unmarshal(data, &sc)
	}
	var res result
	if err != nil {
		res.Err = "reading scenario: " + err.Error()
	} else {
		res = runOuter(sc)
	}
	out, _ := json.Marshal(res)
	fmt.Printf("\n%s%s\n", resultMarker, out)
	os.Exit(0)
}

// goRunnerMain is the Go runner's entry point: it runs the program on
// its fd, with the stages of goinit that mount's programs need (CopyUp)
// and the probes' stage.
func goRunnerMain(fdText string) {
	sysprogtest.RunnerMain(fdText, func(id int, a sysprog.StageArgs) error {
		switch id {
		case stage.CopyUp: // as internal/goinit runs it
			return CopyUpStage(a)
		case probeStage:
			var ps []probe
			if err := json.Unmarshal(a.Bytes(1, int(a.Int(2))), &ps); err != nil {
				return err
			}
			res := result{InitPid: os.Getpid(), NSInitPid: os.Getpid()}
			proc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				proc = -1 // a container without /proc: no mountinfo probe
			}
			res.Probes = runProbes(ps, proc)
			if proc >= 0 {
				unix.Close(proc)
			}
			w := os.NewFile(a.Int(0), "result")
			err = json.NewEncoder(w).Encode(res)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			return err
		}
		return fmt.Errorf("unknown stage %d", id)
	})
}

func errText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

func runProbes(ps []probe, proc int) map[string]probeResult {
	out := map[string]probeResult{}
	for _, p := range ps {
		out[p.key()] = runProbe(p, proc)
	}
	return out
}

// runProbe runs p in the container; proc is a directory fd on a procfs
// whose thread-self is the prober.
func runProbe(p probe, proc int) probeResult {
	var r probeResult
	var err error
	switch p.Op {
	case "stat":
		var st unix.Stat_t
		if err = unix.Lstat(p.Path, &st); err == nil {
			kind := map[uint32]string{unix.S_IFCHR: "c", unix.S_IFBLK: "b", unix.S_IFIFO: "p", unix.S_IFDIR: "d",
				unix.S_IFREG: "f", unix.S_IFLNK: "l"}[st.Mode&unix.S_IFMT]
			r.Out = fmt.Sprintf("%s %04o %d:%d uid=%d gid=%d", kind, st.Mode&0o7777,
				unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Uid, st.Gid)
		}
	case "exists":
		_, err = os.Lstat(p.Path)
	case "readlink":
		r.Out, err = os.Readlink(p.Path)
	case "read":
		var b []byte
		b, err = os.ReadFile(p.Path)
		r.Out = string(b)
	case "write":
		var f *os.File
		f, err = os.OpenFile(p.Path, os.O_WRONLY|os.O_CREATE, 0o644)
		if err == nil {
			_, err = f.Write([]byte("x"))
			f.Close()
		}
	case "mkdir":
		err = os.Mkdir(p.Path, 0o755)
	case "ls":
		var ents []os.DirEntry
		ents, err = os.ReadDir(p.Path)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		r.Out = strings.Join(names, " ")
	case "statfs":
		var st unix.Statfs_t
		if err = unix.Statfs(p.Path, &st); err == nil {
			r.Out = fmt.Sprintf("%#x ro=%v", st.Type, st.Flags&unix.ST_RDONLY != 0)
		}
	case "mountinfo":
		// The prober's own mount namespace, seen from its root.
		if proc < 0 {
			err = errors.New("no procfs")
			break
		}
		var fd int
		if fd, err = unix.Openat(proc, "thread-self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			f := os.NewFile(uintptr(fd), "mountinfo")
			var b []byte
			b, err = io.ReadAll(f)
			f.Close()
			r.Out = string(b)
		}
	default:
		err = fmt.Errorf("unknown probe %q", p.Op)
	}
	if err != nil {
		r.Err = errText(err)
	}
	return r
}

// probeInside runs the probes inside the mount namespace and root of
// process pid, from a locked OS thread of this process that is never
// unlocked (it ends with its goroutine).
func probeInside(pid int, ps []probe) (map[string]probeResult, error) {
	type answer struct {
		r   map[string]probeResult
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		runtime.LockOSThread()
		// never UnlockOSThread: the thread leaves this process's root
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			ch <- answer{err: fmt.Errorf("unshare(CLONE_FS): %w", err)}
			return
		}
		var fds []int
		defer func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}()
		open := func(path string, flags int) int {
			fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
			if err != nil {
				return -1
			}
			fds = append(fds, fd)
			return fd
		}
		root := open(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY)
		ns := open(fmt.Sprintf("/proc/%d/ns/mnt", pid), unix.O_RDONLY)
		proc := open("/proc", unix.O_PATH|unix.O_DIRECTORY) // this thread's procfs, for thread-self
		if root < 0 || ns < 0 || proc < 0 {
			ch <- answer{err: fmt.Errorf("opening /proc/%d/root and ns/mnt failed", pid)}
			return
		}
		if err := unix.Setns(ns, unix.CLONE_NEWNS); err != nil {
			ch <- answer{err: fmt.Errorf("setns into the container's mount namespace: %w", err)}
			return
		}
		if err := unix.Fchdir(root); err != nil {
			ch <- answer{err: err}
			return
		}
		if err := unix.Chroot("."); err != nil {
			ch <- answer{err: err}
			return
		}
		ch <- answer{r: runProbes(ps, proc)}
	}()
	a := <-ch
	return a.r, a.err
}

// scenarioTimeout is how long a runner may take before it is killed (the
// test then fails instead of hanging).
const scenarioTimeout = 3 * time.Minute

// runScenario compiles sc and runs it on sc.Runner in this process.
func runScenario(sc scenario) (res result, err error) {
	parent, child, err := sysprog.Pair()
	if err != nil {
		return res, err
	}
	closers := []io.Closer{child}
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	goRunner := sc.Runner == "go"
	if !goRunner && sc.Runner != "raw" {
		unix.Close(parent)
		return res, fmt.Errorf("unknown runner %q", sc.Runner)
	}
	high := func(f *os.File) (int, error) {
		fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 20)
		if err == nil {
			closers = append(closers, os.NewFile(uintptr(fd), f.Name()))
		}
		return fd, err
	}
	p := sysprog.New(int(child.Fd()))
	p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(parent))
	var exeFD, progFD, resultFD int
	var resultR *os.File
	if goRunner {
		exe, err := os.Open("/proc/self/exe")
		if err == nil {
			exeFD, err = high(exe)
			exe.Close()
		}
		if err == nil {
			progFD, err = high(child) // a placeholder: the program goes there
		}
		var w *os.File
		if err == nil {
			resultR, w, err = os.Pipe()
		}
		if err == nil {
			closers = append(closers, resultR)
			resultFD, err = high(w)
			w.Close()
		}
		if err != nil {
			unix.Close(parent)
			return res, err
		}
	}
	if sc.UserNS {
		// As spawn: the parent writes the id maps, the program becomes
		// root of the namespace.
		p.Signal('U')
		p.Wait(nil)
		p.Call(nil, unix.SYS_SETRESGID, sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
		p.Call(nil, unix.SYS_SETRESUID, sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	}
	if goRunner {
		p.Handover(nil, exeFD, []string{"hako-mount-test-runner"}, []string{runnerEnv + "=" + strconv.Itoa(progFD), "GOMAXPROCS=1"},
			[]int{p.SyncFD(), progFD, resultFD}, false)
	}
	if sc.NoPrepare {
		p.Call(func(errno syscall.Errno) error { return fmt.Errorf("mounting a tmpfs: %w", errno) },
			unix.SYS_MOUNT, p.Str("tmpfs"), p.Str(filepath.Join(sc.Config.Rootfs, "tmp")), p.Str("tmpfs"), sysprog.Imm(0), sysprog.Imm(0))
	} else if sc.build != nil {
		if err := sc.build(p); err != nil {
			unix.Close(parent)
			return errResult(err, false), nil
		}
	} else if err := Compile(&sc.Config, p, Stages{}); err != nil {
		unix.Close(parent)
		return errResult(err, false), nil
	}
	if goRunner {
		ps, _ := json.Marshal(sc.Probes)
		p.Stage("probes", probeStage, sysprog.Imm(resultFD), p.Bytes(ps), sysprog.Imm(len(ps)))
	}
	p.Signal('D')
	p.Wait(nil)

	flags := sc.Cloneflags
	if sc.UserNS {
		flags |= unix.CLONE_NEWUSER
	}
	var c *sysprog.Child
	if goRunner {
		if err := sysprogtest.PlaceProgram(p, progFD); err != nil {
			unix.Close(parent)
			return res, err
		}
		c, err = p.StartGo(flags, parent)
		if err != nil {
			return res, err
		}
	} else if c, err = p.Start(flags, parent); err != nil {
		if p.NeedsGo() != "" {
			return result{Refused: err.Error()}, nil
		}
		return res, err
	}
	// Only the runner holds the fds it was given from here on: the pipe
	// ends at EOF once the runner closed its end.
	for _, c := range closers {
		if c != resultR {
			c.Close()
		}
	}
	closers = []io.Closer{resultR}
	defer c.Close()
	defer func() {
		c.Signal(syscall.SIGKILL)
		c.Wait()
		c.KeepAlive()
	}()
	watchdog := time.AfterFunc(scenarioTimeout, func() { c.Signal(syscall.SIGKILL) })
	defer watchdog.Stop()
	if sc.UserNS {
		if err := c.Expect('U'); err != nil {
			return errResult(err, true), nil
		}
		for _, f := range []string{"uid_map", "gid_map"} {
			if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", c.Pid, f), []byte("0 0 65536\n"), 0); err != nil {
				return res, err
			}
		}
		if err := c.Continue(); err != nil {
			return res, err
		}
	}
	if err := c.Expect('D'); err != nil {
		return errResult(err, true), nil
	}
	if goRunner {
		b, err := io.ReadAll(resultR)
		if err != nil {
			return res, err
		}
		if err := json.Unmarshal(b, &res); err != nil {
			return res, fmt.Errorf("the Go runner's result %q: %w", b, err)
		}
		return res, nil
	}
	res.InitPid = c.Pid
	res.NSInitPid, err = nsPid(c.Pid)
	if err != nil || len(sc.Probes) == 0 {
		return res, err
	}
	res.Probes, err = probeInside(c.Pid, sc.Probes)
	return res, err
}

// nsPid is the pid process pid has in its own pid namespace.
func nsPid(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "NSpid:"); ok {
			f := strings.Fields(v)
			return strconv.Atoi(f[len(f)-1])
		}
	}
	return 0, fmt.Errorf("no NSpid in /proc/%d/status", pid)
}

// errResult is the result of a setup that failed with err.
func errResult(err error, compiled bool) result {
	res := result{Err: err.Error(), Compiled: compiled}
	var me *Error
	if errors.As(err, &me) {
		res.IsError, res.Step, res.Field = true, me.Step, me.Field
	}
	var errno unix.Errno
	if errors.As(err, &errno) && errors.Is(err, errno) {
		res.Errno = unix.ErrnoName(errno)
	}
	return res
}

func runOuter(sc scenario) result {
	var res result
	o := sc.Outer
	if o.MakeShared {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
			res.Err = "outer: make / rshared: " + err.Error()
			return res
		}
	}
	if o.LockedTmpfs != "" {
		if err := unix.Mount("tmpfs", o.LockedTmpfs, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755"); err != nil {
			res.Err = "outer: locked tmpfs: " + err.Error()
			return res
		}
		if err := os.WriteFile(filepath.Join(o.LockedTmpfs, "hello"), []byte("hi\n"), 0o644); err != nil {
			res.Err = "outer: " + err.Error()
			return res
		}
	}
	if o.OwnPID {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			res.Err = "outer: make / rprivate: " + err.Error()
			return res
		}
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			res.Err = "outer: mount /proc: " + err.Error()
			return res
		}
	}
	before, _ := os.ReadFile("/proc/self/mountinfo")
	inner := sc
	inner.Outer = nil
	r, err := runScenario(inner)
	if err != nil {
		res.Err = "outer: " + err.Error()
		return res
	}
	res.Inner = &r
	after, _ := os.ReadFile("/proc/self/mountinfo")
	res.MountsAdded, res.MountsGone = diffLines(string(before), string(after))
	return res
}

func diffLines(before, after string) (added, gone []string) {
	b := map[string]bool{}
	for _, l := range strings.Split(before, "\n") {
		b[l] = true
	}
	a := map[string]bool{}
	for _, l := range strings.Split(after, "\n") {
		a[l] = true
		if !b[l] {
			added = append(added, l)
		}
	}
	for l := range b {
		if !a[l] {
			gone = append(gone, l)
		}
	}
	sort.Strings(gone)
	return added, gone
}

// spawnOuter runs an outer scenario in a re-executed test binary with a
// mount namespace of its own.
func spawnOuter(sc scenario) (result, error) {
	f, err := os.CreateTemp("", "hako-mount-scenario-*.json")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(sc); err != nil {
		f.Close()
		return result{}, err
	}
	f.Close()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), helperEnv+"="+f.Name())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if sc.Outer.OwnPID {
		cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWPID
	}
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("helper: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	i := strings.LastIndex(out, resultMarker)
	if i < 0 {
		return result{}, fmt.Errorf("helper printed no result\nstdout: %s\nstderr: %s", out, stderr.String())
	}
	line := out[i+len(resultMarker):]
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	var res result
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return result{}, fmt.Errorf("helper result %q: %v", line, err)
	}
	return res, nil
}
