package cgroup

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testutil"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// testPath returns a cgroupsPath for this test, removed at the end even if
// the test fails half-way.
func testPath(t *testing.T) string {
	top := fmt.Sprintf("/hako-test-%d", os.Getpid())
	p := top + "/" + strings.NewReplacer("/", "-").Replace(t.Name())
	t.Cleanup(func() {
		for _, root := range cgroupRoots() {
			os.Remove(filepath.Join(root, p))
			os.Remove(filepath.Join(root, top))
		}
	})
	return p
}

// cgroupRoots lists where the hierarchies are mounted, read independently of
// the code under test.
func cgroupRoots() []string {
	if Mode() == ModeV2 {
		return []string{"/sys/fs/cgroup"}
	}
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join("/sys/fs/cgroup", e.Name()))
		}
	}
	return out
}

// cgFile reads a cgroup file: the v1 file of controller ctrl, or the v2 file.
func cgFile(t *testing.T, path, ctrl, v1, v2 string) string {
	t.Helper()
	f := filepath.Join("/sys/fs/cgroup", ctrl, path, v1)
	if Mode() == ModeV2 {
		f = filepath.Join("/sys/fs/cgroup", path, v2)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// startShell starts busybox sh -c script with pipes to its stdin and from
// its stdout.
func startShell(t *testing.T, script string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(testutil.BusyboxPath, "sh", "-c", script)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stdin, bufio.NewReader(out)
}

func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(testutil.BusyboxPath, "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func procState(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "State:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestLifecycle(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresBusybox(t)
	path := testPath(t)
	m, err := New(Config{ID: "life", Path: path, Resources: &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Memory:  &specs.LinuxMemory{Limit: i64(64 << 20)},
		Pids:    &specs.LinuxPids{Limit: i64(20)},
		CPU:     &specs.LinuxCPU{Shares: u64(512)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The shell waits for a line, so that it is in the cgroup before it
	// writes a file; the file's page cache is charged to the cgroup (v1
	// does not move the charges of a process that joins).
	file := filepath.Join(t.TempDir(), "charged")
	cmd, stdin, stdout := startShell(t, `read x; dd if=/dev/zero of=`+file+` bs=1M count=2 2>/dev/null; echo ready; read y`)
	pid := cmd.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "go\n")
	if line, err := stdout.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("shell said %q, %v", line, err)
	}
	if !m.Exists() {
		t.Error("Exists() = false after Apply")
	}

	// The limits, read back from the cgroup files.
	if got := cgFile(t, path, "memory", "memory.limit_in_bytes", "memory.max"); got != fmt.Sprint(64<<20) {
		t.Errorf("memory limit = %s, want %d", got, 64<<20)
	}
	if got := cgFile(t, path, "pids", "pids.max", "pids.max"); got != "20" {
		t.Errorf("pids.max = %s, want 20", got)
	}
	if Mode() != ModeV2 {
		if got := cgFile(t, path, "cpu", "cpu.shares", ""); got != "512" {
			t.Errorf("cpu.shares = %s, want 512", got)
		}
		devs := cgFile(t, path, "devices", "devices.list", "")
		if strings.Contains(devs, "a *:* rwm") || !strings.Contains(devs, "c 1:3 rwm") || !strings.Contains(devs, "c 136:* rwm") {
			t.Errorf("devices.list:\n%s", devs)
		}
	}
	own, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(own), ":memory:"+path+"\n") && !strings.Contains(string(own), "0::"+path+"\n") {
		t.Errorf("process %d is not in %s:\n%s", pid, path, own)
	}

	pids, err := m.Pids()
	if err != nil || !slices.Contains(pids, pid) {
		t.Errorf("Pids() = %v, %v; want it to hold %d", pids, err, pid)
	}

	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if Mode() != ModeV2 {
		if got := cgFile(t, path, "freezer", "freezer.state", ""); got != "FROZEN" {
			t.Errorf("freezer.state = %s after Freeze", got)
		}
	} else if got := cgFile(t, path, "", "", "cgroup.freeze"); got != "1" {
		t.Errorf("cgroup.freeze = %s after Freeze", got)
	}
	frozenState := procState(t, pid)
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if Mode() != ModeV2 {
		if got := cgFile(t, path, "freezer", "freezer.state", ""); got != "THAWED" {
			t.Errorf("freezer.state = %s after Thaw", got)
		}
	}
	t.Logf("process state frozen: %q, thawed: %q", frozenState, procState(t, pid))

	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Memory.Usage.Usage < 2<<20 || st.Memory.Usage.Limit != 64<<20 || st.Pids.Current != 1 || st.Pids.Limit != 20 {
		t.Errorf("stats: memory %+v, pids %+v", st.Memory.Usage, st.Pids)
	}

	if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(30)}, Memory: &specs.LinuxMemory{Limit: i64(128 << 20)}}); err != nil {
		t.Fatal(err)
	}
	if got := cgFile(t, path, "pids", "pids.max", "pids.max"); got != "30" {
		t.Errorf("pids.max = %s after Set, want 30", got)
	}
	if got := cgFile(t, path, "memory", "memory.limit_in_bytes", "memory.max"); got != fmt.Sprint(128<<20) {
		t.Errorf("memory limit = %s after Set, want %d", got, 128<<20)
	}
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(200)}}); err == nil || !strings.Contains(err.Error(), "linux.resources.memory.swappiness") {
		t.Errorf("bad Set: %v", err)
	}
	if err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "4000"}}); err == nil || !strings.Contains(err.Error(), "linux.resources.cpu.cpus") {
		t.Errorf("Set refused by the kernel: %v", err)
	}

	// A later command rebuilds the manager from the JSON state.
	raw, err := json.Marshal(m.State())
	if err != nil {
		t.Fatal(err)
	}
	var s State
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	m2, err := FromState(s)
	if err != nil {
		t.Fatal(err)
	}
	if pids, err := m2.Pids(); err != nil || !slices.Contains(pids, pid) {
		t.Errorf("FromState: Pids() = %v, %v", pids, err)
	}
	if err := m2.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}); err != nil {
		t.Fatal(err)
	}
	if got := cgFile(t, path, "pids", "pids.max", "pids.max"); got != "max" {
		t.Errorf("pids.max = %s after Set(-1), want max", got)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := m2.Destroy(); err != nil {
		t.Fatal(err)
	}
	if m2.Exists() {
		t.Error("Exists() after Destroy")
	}
	assertGone(t, s)
}

// assertGone checks that no directory of the state, nor the test's top
// directory, is left in any hierarchy.
func assertGone(t *testing.T, s State) {
	t.Helper()
	for _, p := range s.Paths {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	for _, p := range s.Created {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	top := fmt.Sprintf("hako-test-%d", os.Getpid())
	for _, root := range cgroupRoots() {
		if _, err := os.Stat(filepath.Join(root, top)); err == nil {
			t.Errorf("%s left behind", filepath.Join(root, top))
		}
	}
}

func TestDefaultDevicesUsableAfterDenyAll(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresBusybox(t)
	if Mode() == ModeV2 {
		t.Skip("checks the v1 devices cgroup")
	}
	path := testPath(t)
	m, err := New(Config{ID: "dev", Path: path, Resources: &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// A node of /dev/mem (char 1:1), which no rule allows.
	mem := filepath.Join(t.TempDir(), "mem")
	if err := unix.Mknod(mem, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 1))); err != nil {
		t.Fatal(err)
	}
	// The shell waits for a line on stdin, so that it is in the cgroup
	// before it opens any device.
	cmd, stdin, stdout := startShell(t, `read x; echo hi > /dev/null && echo null-ok; : < `+mem+`; echo done`)
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "go\n")
	out, _ := io.ReadAll(stdout)
	if !strings.Contains(string(out), "null-ok") {
		t.Errorf("/dev/null unusable in the cgroup:\n%s", out)
	}
	if !strings.Contains(string(out), mem) || !strings.Contains(string(out), "Operation not permitted") {
		t.Errorf("char 1:1 was not denied:\n%s", out)
	}
	cmd.Wait()
	s := m.State()
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, s)
}

func TestFailedApplyLeavesNothing(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresBusybox(t)
	path := testPath(t)
	// Valid syntax, but no such CPU: the kernel refuses it on write.
	m, err := New(Config{ID: "fail", Path: path, Resources: &specs.LinuxResources{
		CPU: &specs.LinuxCPU{Cpus: "4000"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := startSleep(t)
	s := m.State()
	err = m.Apply(cmd.Process.Pid)
	if err == nil {
		t.Fatal("Apply with cpus 4000 succeeded")
	}
	if !strings.Contains(err.Error(), "linux.resources.cpu.cpus") {
		t.Errorf("Apply error does not name linux.resources.cpu.cpus: %v", err)
	}
	if own, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid)); strings.Contains(string(own), path) {
		t.Errorf("process still in %s:\n%s", path, own)
	}
	assertGone(t, s)
}

func TestJoinMovesAnotherProcess(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresBusybox(t)
	path := testPath(t)
	m, err := New(Config{ID: "join", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	a, b := startSleep(t), startSleep(t)
	if pids, _ := m.Pids(); len(pids) != 0 {
		t.Errorf("Apply(-1) put processes in: %v", pids)
	}
	for _, c := range []*exec.Cmd{a, b} {
		if err := m.Join(c.Process.Pid); err != nil {
			t.Fatal(err)
		}
	}
	pids, err := m.Pids()
	if err != nil || len(pids) != 2 || !slices.Contains(pids, a.Process.Pid) || !slices.Contains(pids, b.Process.Pid) {
		t.Errorf("Pids() = %v, %v; want %d and %d", pids, err, a.Process.Pid, b.Process.Pid)
	}
	for _, c := range []*exec.Cmd{a, b} {
		c.Process.Kill()
		c.Wait()
	}
	s := m.State()
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, s)
}
