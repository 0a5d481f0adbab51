package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRunHelloWorld(t *testing.T) { forRunners(t, testRunHelloWorld) }

func testRunHelloWorld(t *testing.T, e *env) {
	b := e.bundle([]string{"echo", "hello from hako"}, nil)
	before := mountinfo(t)
	r := e.run("run", "--bundle", b, "hello")
	if r.code != 0 || r.stdout != "hello from hako\n" {
		t.Fatalf("want hello, got %s", r)
	}
	e.noLeftovers("hello", before)
}

func TestRunExitCodes(t *testing.T) { forRunners(t, testRunExitCodes) }

func testRunExitCodes(t *testing.T, e *env) {
	b := e.bundle([]string{"sh", "-c", "exit 3"}, nil)
	if r := e.run("run", "--bundle", b, "exit3"); r.code != 3 {
		t.Fatalf("want exit 3, got %s", r)
	}
}

// A foreground run forwards the signals it receives to the container and
// exits 128+N when the process is killed by signal N.
func TestRunForwardsSignalsAndReportsDeathBySignal(t *testing.T) {
	forRunners(t, testRunForwardsSignalsAndReportsDeathBySignal)
}

func testRunForwardsSignalsAndReportsDeathBySignal(t *testing.T, e *env) {
	b := e.bundle([]string{"sh", "-c", "trap 'exit 42' TERM; sleep 1000 & wait"}, nil)
	cmd, pid := e.startForeground(b, "fwd")
	waitForChild(t, pid) // the trap is set once sleep was forked
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 42 {
		t.Fatalf("want exit 42 from the trapped TERM, got %v", err)
	}
	// A realtime signal (systemd stops on SIGRTMIN+3, 37) is forwarded too.
	b = e.bundle([]string{"sh", "-c", "trap 'exit 43' 37; sleep 1000 & wait"}, nil)
	cmd, pid = e.startForeground(b, "fwd-rt")
	waitForChild(t, pid)
	cmd.Process.Signal(syscall.Signal(37))
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 43 {
		t.Fatalf("want exit 43 from the trapped signal 37, got %v", err)
	}
	b = e.bundle([]string{"sleep", "1000"}, nil)
	cmd, _ = e.startForeground(b, "victim")
	e.must("kill", "victim", "KILL")
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 128+9 {
		t.Fatalf("want exit 137 for SIGKILL, got %v", err)
	}
}

func TestIsolation(t *testing.T) { forRunners(t, testIsolation) }

func testIsolation(t *testing.T, e *env) {
	hostName, _ := os.Hostname()
	script := `hostname; echo ---; ps -o pid,comm; echo ---; ls /; echo ---; cat /proc/net/dev; echo ---; ` +
		`for n in pid net ipc uts mnt cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done`
	b := e.bundle([]string{"sh", "-c", script}, func(s *specs.Spec) {
		s.Hostname = "box1"
	})
	os.WriteFile(filepath.Join(b, "rootfs", "marker-only-in-rootfs"), nil, 0o644)
	r := e.run("run", "--bundle", b, "iso")
	if r.code != 0 {
		t.Fatal(r)
	}
	parts := strings.Split(r.stdout, "---\n")
	if len(parts) != 5 {
		t.Fatalf("unexpected output %q", r.stdout)
	}
	if got := strings.TrimSpace(parts[0]); got != "box1" || got == hostName {
		t.Errorf("hostname = %q, want box1 (host is %q)", got, hostName)
	}
	// ps: PID 1 is our shell, and there are only a few processes.
	lines := strings.Split(strings.TrimSpace(parts[1]), "\n")
	if len(lines) > 4 {
		t.Errorf("container sees %d processes, want only its own:\n%s", len(lines)-1, parts[1])
	}
	if f := strings.Fields(lines[1]); f[0] != "1" {
		t.Errorf("first process is pid %s, want 1:\n%s", f[0], parts[1])
	}
	if !strings.Contains(parts[2], "marker-only-in-rootfs") {
		t.Errorf("ls / is not the rootfs:\n%s", parts[2])
	}
	var ifaces []string
	for _, l := range strings.Split(parts[3], "\n")[2:] {
		if i := strings.Index(l, ":"); i > 0 {
			ifaces = append(ifaces, strings.TrimSpace(l[:i]))
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Errorf("network interfaces %v, want only lo", ifaces)
	}
	for _, l := range strings.Split(strings.TrimSpace(parts[4]), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Errorf("bad ns line %q", l)
			continue
		}
		if f[1] == hostNS(t, f[0]) {
			t.Errorf("%s namespace %s is the host's", f[0], f[1])
		}
	}
}

func TestRemovedNamespaceIsShared(t *testing.T) { forRunners(t, testRemovedNamespaceIsShared) }

func testRemovedNamespaceIsShared(t *testing.T, e *env) {
	b := e.bundle([]string{"sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/uts"}, func(s *specs.Spec) {
		var ns []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != specs.NetworkNamespace {
				ns = append(ns, n)
			}
		}
		s.Linux.Namespaces = ns
	})
	r := e.run("run", "--bundle", b, "hostnet")
	f := strings.Fields(r.stdout)
	if r.code != 0 || len(f) != 2 {
		t.Fatal(r)
	}
	if f[0] != hostNS(t, "net") {
		t.Errorf("without a network namespace in the config, net ns is %s, want the host's %s", f[0], hostNS(t, "net"))
	}
	if f[1] == hostNS(t, "uts") {
		t.Errorf("uts namespace is the host's")
	}
}

func TestLifecycle(t *testing.T) { forRunners(t, testLifecycle) }

func testLifecycle(t *testing.T, e *env) {
	b := e.bundle([]string{"sleep", "1000"}, nil)
	pidFile := filepath.Join(t.TempDir(), "pid")
	before := mountinfo(t)
	e.must("create", "--bundle", b, "--pid-file", pidFile, "life")
	st := e.state("life")
	if st.Status != "created" || st.Pid <= 0 || st.Bundle != b {
		t.Fatalf("after create: %+v", st)
	}
	pf, _ := os.ReadFile(pidFile)
	if string(pf) != strconv.Itoa(st.Pid) {
		t.Errorf("pid file %q, state pid %d", pf, st.Pid)
	}
	// The user process has not run yet: the init is still hako's.
	if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/comm"); strings.TrimSpace(string(comm)) == "sleep" {
		t.Errorf("process already exec'd before start")
	}
	// delete without --force refuses and changes nothing
	if r := e.run("delete", "life"); r.code == 0 || !strings.Contains(r.stderr, "created") {
		t.Errorf("delete of a created container: %s", r)
	}
	if st2 := e.state("life"); st2.Status != "created" {
		t.Errorf("refused delete changed status to %s", st2.Status)
	}
	e.must("start", "life")
	if st := e.state("life"); st.Status != "running" {
		t.Fatalf("after start: %+v", st)
	}
	if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/comm"); strings.TrimSpace(string(comm)) != "sleep" {
		t.Errorf("after start, init runs %q, want sleep", comm)
	}
	if r := e.run("start", "life"); r.code == 0 || !strings.Contains(r.stderr, "running") {
		t.Errorf("second start: %s", r)
	}
	if r := e.run("delete", "life"); r.code == 0 || !strings.Contains(r.stderr, "running") {
		t.Errorf("delete of a running container: %s", r)
	}
	list := e.must("list")
	if !strings.HasPrefix(list, "ID") || !strings.Contains(list, "OWNER") || !strings.Contains(list, "life") {
		t.Errorf("list output:\n%s", list)
	}
	if q := e.must("list", "-q"); strings.TrimSpace(q) != "life" {
		t.Errorf("list -q: %q", q)
	}
	e.must("kill", "life", "KILL")
	waitReap(t, st.Pid) // kill returns once the signal is sent, as runc's does
	if st := e.state("life"); st.Status != "stopped" {
		t.Fatalf("after kill: %+v", st)
	}
	if r := e.run("kill", "life"); r.code == 0 || !strings.Contains(r.stderr, "container not running") {
		t.Errorf("kill of a stopped container: %s", r)
	}
	e.must("delete", "life")
	if r := e.run("state", "life"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("state after delete: %s", r)
	}
	e.noLeftovers("life", before)
}

func TestTwoContainersDoNotSeeEachOther(t *testing.T) {
	forRunners(t, testTwoContainersDoNotSeeEachOther)
}

func testTwoContainersDoNotSeeEachOther(t *testing.T, e *env) {
	b1 := e.bundle([]string{"sleep", "1000"}, nil)
	b2 := e.bundle([]string{"sleep", "1000"}, nil)
	os.WriteFile(filepath.Join(b1, "rootfs", "only-in-one"), nil, 0o644)
	e.must("run", "-d", "--bundle", b1, "one")
	e.must("run", "-d", "--bundle", b2, "two")
	p1, p2 := e.state("one").Pid, e.state("two").Pid
	defer e.deleteAndReap("one", p1)
	defer e.deleteAndReap("two", p2)
	// Look from inside container two, through a third process in its
	// namespaces: nsenter is not needed, the container's own /proc tells.
	procs, err := os.ReadDir("/proc/" + strconv.Itoa(p2) + "/root/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err == nil {
			pids = append(pids, p.Name())
		}
	}
	if len(pids) != 1 || pids[0] != "1" {
		t.Errorf("container two's /proc lists pids %v, want only [1]", pids)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(p2) + "/root/only-in-one"); err == nil {
		t.Errorf("container two sees container one's file")
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(p1) + "/root/only-in-one"); err != nil {
		t.Errorf("container one does not see its own file: %v", err)
	}
	n1, _ := os.Readlink("/proc/" + strconv.Itoa(p1) + "/ns/pid")
	n2, _ := os.Readlink("/proc/" + strconv.Itoa(p2) + "/ns/pid")
	if n1 == n2 {
		t.Errorf("both containers share pid namespace %s", n1)
	}
}

// process is OPTIONAL until start (runtime-spec): a config without one is
// created, start refuses it with the field and changes nothing, and
// delete removes it, leaving nothing.
func TestCreateWithoutProcess(t *testing.T) { forRunners(t, testCreateWithoutProcess) }

func testCreateWithoutProcess(t *testing.T, e *env) {
	before := mountinfo(t)
	b := e.bundle([]string{"true"}, func(s *specs.Spec) { s.Process = nil })
	if r := e.run("create", "--bundle", b, "noproc"); r.code != 0 || !strings.Contains(r.stderr, "process") {
		t.Fatalf("create without a process: %s (want success, with a warning about process)", r)
	}
	if st := e.state("noproc"); st.Status != "created" {
		t.Fatalf("status %q, want created", st.Status)
	}
	if r := e.run("start", "noproc"); r.code == 0 || !strings.Contains(r.stderr, "process") {
		t.Errorf("start without a process: %s (want a refusal naming process)", r)
	}
	st := e.state("noproc")
	if st.Status != "created" {
		t.Errorf("status after the refused start %q, want created", st.Status)
	}
	e.deleteAndReap("noproc", st.Pid)
	e.noLeftovers("noproc", before)
}
