package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestExec runs through both ways hako starts an exec'd process: the
// setup program (the default: forked in the container's namespaces,
// executed through the trampoline) and the Go init (HAKO_INIT=go, as for
// a terminal).
func TestExec(t *testing.T) { forRunners(t, testExec) }

func testExec(t *testing.T, e *env) {
	b := e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "FROM_CONFIG=yes")
	})
	e.must("run", "-d", "--bundle", b, "ex")
	pid := e.state("ex").Pid
	defer e.deleteAndReap("ex", pid)

	if out := e.must("exec", "ex", "sh", "-c", "echo $FROM_CONFIG $EXTRA; pwd; id -u"); out != "yes\n/\n0\n" {
		t.Errorf("exec with the container's process defaults printed %q", out)
	}
	out := e.must("exec", "--env", "EXTRA=1", "--cwd", "/tmp", "--user", "1000:1000", "ex", "sh", "-c", "echo $EXTRA; pwd; id -u; id -g")
	if out != "1\n/tmp\n1000\n1000\n" {
		t.Errorf("exec with flags printed %q", out)
	}
	if r := e.run("exec", "ex", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exit code: %s", r)
	}
	// The exec'd process shares the container's namespaces and cgroup.
	out = e.must("exec", "ex", "sh", "-c", "ps -o pid,comm; readlink /proc/self/ns/pid /proc/1/ns/pid; cat /proc/self/cgroup | grep pids")
	if !strings.Contains(out, "sleep") {
		t.Errorf("exec'd process does not see the container's init:\n%s", out)
	}
	hostPids, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if !strings.Contains(out, "pids:") || !strings.Contains(string(hostPids), strings.TrimPrefix(lineWith(out, "pids:"), "")) {
		t.Errorf("exec'd process cgroup %q, container's:\n%s", lineWith(out, "pids:"), hostPids)
	}
	if r := e.run("exec", "ex", "nope"); r.code == 0 || !strings.Contains(r.stderr, "executable file not found in $PATH") {
		t.Errorf("exec of a missing program: %s", r)
	}
	// --process FILE, as containerd passes it, detached, with a pid file.
	pf := filepath.Join(t.TempDir(), "process.json")
	data, _ := json.Marshal(specs.Process{Args: []string{"sleep", "999"}, Cwd: "/", Env: []string{"PATH=/bin"}})
	os.WriteFile(pf, data, 0o644)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	e.must("exec", "--process", pf, "--detach", "--pid-file", pidFile, "ex")
	pb, _ := os.ReadFile(pidFile)
	epid, _ := strconv.Atoi(string(pb))
	if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(epid) + "/comm"); strings.TrimSpace(string(comm)) != "sleep" {
		t.Errorf("detached exec pid %d runs %q", epid, comm)
	}
	initNS, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	execNS, _ := os.Readlink("/proc/" + strconv.Itoa(epid) + "/ns/mnt")
	if initNS != execNS {
		t.Errorf("exec'd process mount ns %s, container's %s", execNS, initNS)
	}
	e.must("kill", "ex", "KILL")
	// The detached exec'd process was reparented to us; the dying init
	// waits until every process of its pid namespace is reaped.
	waitReap(t, epid)
	waitReap(t, pid)
	if r := e.run("exec", "ex", "true"); r.code == 0 || !strings.Contains(r.stderr, "stopped") {
		t.Errorf("exec in a stopped container: %s", r)
	}
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// A foreground exec forwards the signals it receives to the process it
// runs (internal/sigfwd, as run does).
func TestExecForwardsSignals(t *testing.T) { forRunners(t, testExecForwardsSignals) }

func testExecForwardsSignals(t *testing.T, e *env) {
	b := e.bundle([]string{"sleep", "1000"}, nil)
	e.must("run", "-d", "--bundle", b, "exsig")
	pid := e.state("exsig").Pid
	defer e.deleteAndReap("exsig", pid)

	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	cmd := e.command("exec", "--pid-file", pidFile, "exsig", "sh", "-c", "trap 'exit 42' TERM; sleep 1000 & wait")
	cmd.Stdout, cmd.Stderr = tempFile(t), tempFile(t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var epid int
	for i := 0; epid == 0 && i < 200; i++ {
		if b, err := os.ReadFile(pidFile); err == nil {
			epid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if epid == 0 {
			waitAny(cmd)
		}
	}
	if epid == 0 {
		t.Fatal("exec never wrote its pid file")
	}
	waitForChild(t, epid) // the trap is set once sleep was forked
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 42 {
		t.Fatalf("want exit 42 from the trapped TERM, got %v", err)
	}
}

// exec --cap adds the capability to the bounding, effective and permitted
// sets and, where the config gives the process ambient capabilities, to
// the inheritable and ambient ones too (runc 1.2+): a non-root user keeps
// it across execve.
func TestExecCapAmbient(t *testing.T) { forRunners(t, testExecCapAmbient) }

func testExecCapAmbient(t *testing.T, e *env) {
	b := e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) {
		c := []string{"CAP_NET_BIND_SERVICE"}
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: c, Effective: c, Permitted: c, Inheritable: c, Ambient: c}
	})
	e.must("run", "-d", "--bundle", b, "capamb")
	pid := e.state("capamb").Pid
	defer e.deleteAndReap("capamb", pid)
	out := e.must("exec", "-u", "1000", "--cap", "CAP_CHOWN", "capamb", "cat", "/proc/self/status")
	amb, err := strconv.ParseUint(statusField(out, "CapAmb"), 16, 64)
	if err != nil {
		t.Fatalf("CapAmb in %q: %v", out, err)
	}
	if want := uint64(1<<unix.CAP_CHOWN | 1<<unix.CAP_NET_BIND_SERVICE); amb != want {
		t.Errorf("CapAmb %#x, want %#x (CAP_CHOWN added to the configured CAP_NET_BIND_SERVICE)", amb, want)
	}

	// Without ambient capabilities in the config (CVE-2022-29162): the
	// added one is effective, and nothing becomes inheritable or ambient.
	b = e.bundle([]string{"sleep", "1000"}, nil)
	e.must("run", "-d", "--bundle", b, "capnoamb")
	defer e.deleteAndReap("capnoamb", e.state("capnoamb").Pid)
	out = e.must("exec", "--cap", "CAP_CHOWN", "capnoamb", "cat", "/proc/self/status")
	eff, _ := strconv.ParseUint(statusField(out, "CapEff"), 16, 64)
	if eff&(1<<unix.CAP_CHOWN) == 0 || statusField(out, "CapInh") != "0000000000000000" || statusField(out, "CapAmb") != "0000000000000000" {
		t.Errorf("exec --cap CAP_CHOWN without ambient in the config: CapEff %s, CapInh %s, CapAmb %s; want CAP_CHOWN effective, nothing inheritable or ambient",
			statusField(out, "CapEff"), statusField(out, "CapInh"), statusField(out, "CapAmb"))
	}
}

// `--debug --log FILE --log-format json exec` writes runc's debug lines:
// one setns line per namespace joined, naming its flag and path, and
// "process exited" with the pid and status. Debian's runc writes the same
// lines, checked alike.
func TestExecDebugLog(t *testing.T) { forRunners(t, testExecDebugLog) }

func testExecDebugLog(t *testing.T, e *env) {
	check := func(e *env, who string) {
		t.Helper()
		b := e.bundle([]string{"sleep", "1000"}, nil)
		e.must("run", "-d", "--bundle", b, "dbg")
		pid := e.state("dbg").Pid
		defer e.deleteAndReap("dbg", pid)
		log := filepath.Join(t.TempDir(), "log.json")
		if r := e.run("--debug", "--log", log, "--log-format", "json", "exec", "dbg", "sh", "-c", "exit 3"); r.code != 3 {
			t.Errorf("%s: exec of `exit 3`: %s", who, r)
		}
		raw, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		var setns []string
		exited := false
		for _, l := range lines(string(raw)) {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Errorf("%s: not a JSON log line: %q", who, l)
				continue
			}
			msg, _ := m["msg"].(string)
			if m["level"] == "debug" && strings.Contains(msg, "setns(") {
				setns = append(setns, msg)
			}
			if msg == "process exited" && m["status"] == float64(3) && m["pid"] != nil {
				exited = true
			}
		}
		want := "setns(0x20000000) into pid namespace (with path /proc/" + itoa(pid) + "/ns/pid)"
		found := false
		for _, l := range setns {
			found = found || strings.HasSuffix(l, want) // runc's start "nsexec-1[PID]: "
		}
		if !found {
			t.Errorf("%s: setns debug lines %q, want among them %q", who, setns, want)
		}
		if !exited {
			t.Errorf("%s: no \"process exited\" line with status 3 in:\n%s", who, raw)
		}
	}
	check(e, "hako")
	if r := e.runc(t); r != nil && e.runner == "" {
		check(r, "runc")
	}
}

// exec --pid-file into a directory that does not exist fails before the
// process starts: it never runs.
func TestExecPidFileMissingDir(t *testing.T) { forRunners(t, testExecPidFileMissingDir) }

func testExecPidFileMissingDir(t *testing.T, e *env) {
	b := e.bundle([]string{"sleep", "1000"}, nil)
	e.must("run", "-d", "--bundle", b, "pidf")
	defer e.deleteAndReap("pidf", e.state("pidf").Pid)
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "pid")
	r := e.run("exec", "--pid-file", missing, "pidf", "sh", "-c", "echo ran > /ran")
	if r.code == 0 || !strings.Contains(r.stderr, "--pid-file") {
		t.Errorf("exec --pid-file into a missing directory: %s", r)
	}
	if r := e.run("exec", "pidf", "cat", "/ran"); r.code == 0 {
		t.Errorf("the process ran although its pid file could not be written: %s", r)
	}
}
