package security

// The privilege tests compile a plan with the Compile functions into a
// setup program, in the order spawn uses (or the one a test asks for),
// and run it on each runner, as internal/spawn does:
//
//   - raw: the CLONE_VM child of sysprog (Program.Start);
//   - go: the raw child started with Program.StartGo hands the program
//     over to the Go runner, this test binary executed again (TestMain),
//     which runs the rest on its locked thread.
//
// The program ends by executing Argv through the trampoline with its
// stdout and stderr on a pipe, so that what is checked is what the
// container's process gets; or, for Argv "threads", by stopping ('D') so
// that the test reads the status of each of the runner's threads.

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/libseccomp"
	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/sysprog"
	"github.com/hako-dev/hako/internal/sysprog/sysprogtest"
	"github.com/hako-dev/hako/internal/testutil"
)

// runnerEnv carries the program's fd to the Go runner.
const runnerEnv = "HAKO_SECURITY_TEST_RUNNER"

// tidStage writes the runner's thread id (the one that runs the ops) to
// the fd in its argument.
const tidStage = 100

var runners = []string{"raw", "go"}

func TestMain(m *testing.M) {
	if fd := os.Getenv(runnerEnv); fd != "" {
		goRunnerMain(fd) // never returns
	}
	os.Exit(m.Run())
}

func goRunnerMain(fdText string) {
	sysprogtest.RunnerMain(fdText, func(id int, a sysprog.StageArgs) error {
		if id != tidStage {
			return fmt.Errorf("unknown stage %d", id)
		}
		w := os.NewFile(a.Int(0), "tid")
		_, err := w.WriteString(strconv.Itoa(unix.Gettid()))
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// helperPlan is what the program does, in this order, before it executes
// Argv.
type helperPlan struct {
	Rlimits         []specs.POSIXRlimit
	DropSysResource bool // remove CAP_SYS_RESOURCE from the effective set first
	Seccomp         *specs.LinuxSeccomp
	SeccompEarly    bool // load before CompileUser's ops (else last)
	User            *specs.User
	Caps            *specs.LinuxCapabilities
	NoNewPrivs      bool
	Argv            []string
}

// compilePlan appends plan's steps to p.
func compilePlan(p *sysprog.Program, plan helperPlan) error {
	if plan.DropSysResource {
		cur, err := threadCaps(40)
		if err != nil {
			return err
		}
		eff := cur.effective &^ (1 << unix.CAP_SYS_RESOURCE)
		p.Call(errnoMsg("dropping CAP_SYS_RESOURCE"), unix.SYS_CAPSET,
			sysprog.Value(p, &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}),
			sysprog.Value(p, &[2]unix.CapUserData{
				{Effective: uint32(eff), Permitted: uint32(cur.permitted), Inheritable: uint32(cur.inheritable)},
				{Effective: uint32(eff >> 32), Permitted: uint32(cur.permitted >> 32), Inheritable: uint32(cur.inheritable >> 32)},
			}))
	}
	if err := CompileRlimits(p, plan.Rlimits); err != nil {
		return err
	}
	load, err := compileSeccompProfile(plan.Seccomp)
	if err != nil {
		return err
	}
	if plan.SeccompEarly && load != nil {
		load(p)
	}
	if plan.User != nil {
		if err := CompileUser(p, *plan.User, plan.Caps); err != nil {
			return err
		}
	}
	if plan.NoNewPrivs {
		CompileNoNewPrivileges(p)
	}
	if !plan.SeccompEarly && load != nil {
		load(p)
	}
	return nil
}

// compileSeccompProfile compiles s as hako's parent does (here with
// libseccomp linked into the test) and returns its CompileSeccomp.
func compileSeccompProfile(s *specs.LinuxSeccomp) (func(*sysprog.Program), error) {
	if s == nil {
		return nil, nil
	}
	flags, err := seccomp.Flags(s.Flags)
	if err != nil {
		return nil, err
	}
	prog, err := libseccomp.Compile(s)
	if err != nil {
		return nil, err
	}
	return CompileSeccomp(prog, flags), nil
}

// outcome is how a plan ended.
type outcome struct {
	Out  string // the process's stdout and stderr; "HELPER-ERROR: ..." when the setup failed
	Code int    // its exit status; 3 when the setup failed
	// For "threads": the runner's pid and the thread that ran the ops.
	Pid, Tid int
	// Threads maps each of the runner's threads to its status, for
	// "threads".
	Threads map[int]map[string]string
}

const runnerTimeout = 3 * time.Minute

// runPlan compiles plan and runs it on runner.
func runPlan(t *testing.T, plan helperPlan, runner string) outcome {
	t.Helper()
	o, err := runPlanErr(plan, runner)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func helperError(err error) outcome { return outcome{Out: "HELPER-ERROR: " + err.Error(), Code: 3} }

func runPlanErr(plan helperPlan, runner string) (o outcome, err error) {
	parent, child, err := sysprog.Pair()
	if err != nil {
		return o, err
	}
	closers := []io.Closer{child}
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	high := func(f *os.File) (int, error) {
		fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 20)
		if err == nil {
			closers = append(closers, os.NewFile(uintptr(fd), f.Name()))
		}
		return fd, err
	}
	fail := func(err error) (outcome, error) {
		unix.Close(parent)
		return o, err
	}
	goRunner := runner == "go"
	threads := plan.Argv[0] == "threads"
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	closers = append(closers, outR)
	outFD, err := high(outW)
	outW.Close()
	if err != nil {
		return fail(err)
	}
	syncFD := int(child.Fd())
	tramp, err := sysprog.Trampoline(syncFD, sysprog.TrampolineOptions{Fifo: -1})
	if err != nil {
		return fail(err)
	}
	trampFD, err := high(tramp)
	tramp.Close()
	if err != nil {
		return fail(err)
	}
	var exeFD, progFD int
	if goRunner {
		exe, err := os.Open("/proc/self/exe")
		if err == nil {
			exeFD, err = high(exe)
			exe.Close()
		}
		if err == nil {
			progFD, err = high(child) // a placeholder: the program goes there
		}
		if err != nil {
			return fail(err)
		}
	}
	p := sysprog.New(syncFD)
	p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(parent))
	if goRunner {
		p.Handover(nil, exeFD, []string{"hako-security-test-runner"}, []string{runnerEnv + "=" + strconv.Itoa(progFD), "GOMAXPROCS=1"},
			[]int{syncFD, progFD, outFD, trampFD}, false)
		if threads {
			// The thread that runs the ops, before any of them.
			p.Stage("report the thread", tidStage, sysprog.Imm(outFD))
		}
	}
	if err := compilePlan(p, plan); err != nil {
		unix.Close(parent)
		return helperError(err), nil
	}
	if threads {
		p.Signal('D')
		p.Wait(nil)
	} else {
		for _, fd := range []int{1, 2} {
			p.Call(nil, unix.SYS_DUP3, sysprog.Imm(outFD), sysprog.Imm(fd), sysprog.Imm(0))
		}
		idx := p.FindExec(errnoMsg("finding %s", plan.Argv[0]), []string{plan.Argv[0]})
		p.ExecThrough(errnoMsg("executing %s", plan.Argv[0]), trampFD, []string{plan.Argv[0]}, idx, plan.Argv, []string{"PATH=/bin:/usr/bin"})
	}
	var c *sysprog.Child
	if goRunner {
		if err := sysprogtest.PlaceProgram(p, progFD); err != nil {
			return fail(err)
		}
		c, err = p.StartGo(0, parent)
		if err != nil {
			return o, err
		}
	} else if c, err = p.Start(0, parent); err != nil {
		return o, err
	}
	// From here on only the runner holds its fds: the pipe ends at EOF
	// once the process (or the Go runner's stage) closed its end.
	for _, c := range closers {
		if c != outR {
			c.Close()
		}
	}
	closers = []io.Closer{outR}
	defer c.Close()
	reaped := false
	defer func() {
		if !reaped {
			c.Signal(syscall.SIGKILL)
			c.Wait()
		}
		c.KeepAlive()
	}()
	watchdog := time.AfterFunc(runnerTimeout, func() { c.Signal(syscall.SIGKILL) })
	defer watchdog.Stop()
	if threads {
		if goRunner {
			b, err := io.ReadAll(outR)
			if err != nil {
				return o, err
			}
			if o.Tid, err = strconv.Atoi(string(b)); err != nil {
				if err := c.Expect('D'); err != nil {
					return helperError(err), nil
				}
				return o, fmt.Errorf("the Go runner's thread id %q", b)
			}
		}
		if err := c.Expect('D'); err != nil {
			return helperError(err), nil
		}
		o.Pid = c.Pid
		if !goRunner {
			o.Tid = c.Pid
		}
		o.Threads, err = threadStatus(c.Pid)
		return o, err
	}
	if err := c.Expect('R'); err != nil {
		return helperError(err), nil
	}
	derr := c.Done()
	b, err := io.ReadAll(outR)
	if err != nil {
		return o, err
	}
	ws, err := c.Wait()
	reaped = true
	if err != nil {
		return o, err
	}
	if derr != nil {
		return helperError(derr), nil
	}
	return outcome{Out: string(b), Code: ws.ExitStatus()}, nil
}

// threadStatus reads the status of each thread of process pid.
func threadStatus(pid int) (map[int]map[string]string, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tids, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[int]map[string]string{}
	for _, d := range tids {
		raw, err := os.ReadFile(dir + "/" + d.Name() + "/status")
		if err != nil {
			return nil, err
		}
		tid, _ := strconv.Atoi(d.Name())
		out[tid] = parseStatus(string(raw))
	}
	return out, nil
}

// forRunners runs f once per runner, as a subtest named after it.
func forRunners(t *testing.T, f func(t *testing.T, runner string)) {
	t.Helper()
	for _, r := range runners {
		t.Run(r, func(t *testing.T) { f(t, r) })
	}
}

var statusArgv = []string{testutil.BusyboxPath, "grep", "-E", "^(Uid|Gid|Groups|Umask|Cap[A-Za-z]+|NoNewPrivs|Seccomp):", "/proc/self/status"}

// parseStatus reads "Key:\tvalue" lines.
func parseStatus(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return m
}

func capHex(bits ...int) string {
	var m uint64
	for _, b := range bits {
		m |= 1 << b
	}
	return fmt.Sprintf("%016x", m)
}

// Capability numbers from <linux/capability.h>, independent of the code
// under test.
const (
	capChown          = 0
	capKill           = 5
	capNetBindService = 10
	capNetRaw         = 13
	capAuditWrite     = 29
)

func requireHelper(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresBusybox(t)
}
