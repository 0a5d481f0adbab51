//go:build linux && amd64

package spawn

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/spec"
	"github.com/hako-dev/hako/internal/stage"
	"github.com/hako-dev/hako/internal/sysprog"
)

// The compiler's unit tests: a spec in, the program's ops out, read back
// with sysprog's Ops. They need no root: nothing runs.

// testSpec is `hako spec`'s config, without capabilities (a test may run
// without them; CompileUser checks them against ours) and with mod.
func testSpec(t *testing.T, mod func(*specs.Spec)) *Options {
	t.Helper()
	s := spec.Default()
	s.Process.Terminal = false
	s.Process.Capabilities = nil
	s.Process.Rlimits = nil
	if mod != nil {
		mod(s)
	}
	rootfs := t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "proc"), 0o755)
	return &Options{ID: "c", Bundle: filepath.Dir(rootfs), Rootfs: rootfs, Spec: s}
}

func compileOpsOf(t *testing.T, o *Options) (*plan, []sysprog.OpInfo) {
	t.Helper()
	pl, err := compileCreate(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pl.close)
	return pl, pl.p.Ops()
}

// index is the index of the first op from `from` that f accepts, -1 for
// none.
func index(ops []sysprog.OpInfo, from int, f func(sysprog.OpInfo) bool) int {
	for i := from; i < len(ops); i++ {
		if f(ops[i]) {
			return i
		}
	}
	return -1
}

func named(name string) func(sysprog.OpInfo) bool {
	return func(o sysprog.OpInfo) bool { return o.Name == name }
}

func dumpOps(ops []sysprog.OpInfo) string {
	var b strings.Builder
	for i, o := range ops {
		fmt.Fprintf(&b, "\n    %d: %s", i, o)
	}
	return b.String()
}

func fakeFilter() *seccomp.Program {
	return &seccomp.Program{Filter: []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}}
}

// The last steps: every fd close-on-exec before any filter; without
// no_new_privs the filter before the user changes (and after the
// runtime's chdir); with it, no filter in the program at all (the
// trampoline loads it right before its execve); the exec last.
func TestCompileLastSteps(t *testing.T) {
	for _, nnp := range []bool{false, true} {
		o := testSpec(t, func(s *specs.Spec) {
			s.Process.NoNewPrivileges = nnp
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
		})
		o.Seccomp = fakeFilter()
		_, ops := compileOpsOf(t, o)
		cloexec := index(ops, 0, named("CloexecFrom"))
		filter := index(ops, 0, named("seccomp"))
		chdir := index(ops, 0, named("TryChdir"))
		setuid := index(ops, 0, named("setresuid"))
		nnpOp := index(ops, 0, func(o sysprog.OpInfo) bool {
			return o.Name == "prctl" && o.Args[0].Kind == 'i' && o.Args[0].Val == unix.PR_SET_NO_NEW_PRIVS
		})
		last := ops[len(ops)-1].Name
		switch {
		case cloexec < 0 || chdir < 0 || setuid < 0:
			t.Fatalf("nnp %v: CloexecFrom %d, TryChdir %d, setresuid %d:%s", nnp, cloexec, chdir, setuid, dumpOps(ops))
		case last != "ExecThrough":
			t.Errorf("nnp %v: the program ends with %s, want ExecThrough", nnp, last)
		case nnp && filter >= 0:
			t.Errorf("nnp %v: a seccomp op at %d; with no_new_privs the trampoline loads the filter:%s", nnp, filter, dumpOps(ops))
		case nnp && nnpOp < 0:
			t.Errorf("no prctl(PR_SET_NO_NEW_PRIVS):%s", dumpOps(ops))
		case !nnp && (filter < cloexec || filter < chdir || filter > setuid):
			t.Errorf("nnp %v: CloexecFrom %d, TryChdir %d, seccomp %d, setresuid %d: want the filter after the first two and before the user changes:%s",
				nnp, cloexec, chdir, filter, setuid, dumpOps(ops))
		}
		if close := index(ops, cloexec+1, named("close_range")); close >= 0 {
			t.Errorf("nnp %v: close_range at %d after CloexecFrom at %d", nnp, close, cloexec)
		}
	}
}

// A plain container needs no Go: the raw child runs it; every new
// namespace is made by its clone; the Go runner's handover is there but
// its only.
func TestCompilePlainContainerIsRaw(t *testing.T) {
	pl, ops := compileOpsOf(t, testSpec(t, nil))
	if why := pl.p.NeedsGo(); why != "" {
		t.Errorf("NeedsGo %q, want none", why)
	}
	if r := chooseRunner(pl.p); r.name != rawRunner && os.Getenv("HAKO_INIT") == "" {
		t.Errorf("runner %q (%s)", r.name, r.why)
	}
	want := uintptr(unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNS)
	if got := pl.ns.rawFlags(); got != want {
		t.Errorf("clone flags %#x, want %#x", got, want)
	}
	h := index(ops, 0, named("Handover"))
	if h < 0 || !ops[h].GoOnly {
		t.Fatalf("no Go-only Handover:%s", dumpOps(ops))
	}
	for _, n := range []string{"setns", "unshare", "Respawn", "Stage"} {
		if i := index(ops, 0, named(n)); i >= 0 && !(n == "unshare" && isCgroupUnshare(ops[i])) {
			t.Errorf("a plain container has %s at %d:%s", n, i, dumpOps(ops))
		}
	}
}

func isCgroupUnshare(o sysprog.OpInfo) bool {
	return o.Args[0].Kind == 'i' && o.Args[0].Val == unix.CLONE_NEWCGROUP
}

// Hooks inside the container are Go stages: createContainer before
// pivot_root, startContainer after the user changed and the runner waited
// for start itself; the program names why it needs the Go runner.
func TestCompileHooksAreGoStages(t *testing.T) {
	o := testSpec(t, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}}, StartContainer: []specs.Hook{{Path: "/bin/true"}}}
	})
	o.Fifo, _ = os.Open(os.DevNull)
	pl, ops := compileOpsOf(t, o)
	if why := pl.p.NeedsGo(); !strings.Contains(why, "hooks") {
		t.Errorf("NeedsGo %q, want the hooks named", why)
	}
	var stages []int
	for i, op := range ops {
		if op.Name == "Stage" {
			stages = append(stages, i)
		}
	}
	pivot := index(ops, 0, named("pivot_root"))
	setuid := index(ops, 0, named("setresuid"))
	if len(stages) != 3 || pivot < 0 || !(stages[0] < pivot && stages[1] > setuid && stages[2] > stages[1]) {
		t.Fatalf("stages at %v, pivot_root at %d, setresuid at %d: want createContainer before the pivot, then WaitStart and startContainer after the user:%s",
			stages, pivot, setuid, dumpOps(ops))
	}
	if ops[stages[1]].Args[0].Val != stage.WaitStart || ops[stages[0]].Args[0].Val != stage.Hooks || ops[stages[2]].Args[0].Val != stage.Hooks {
		t.Errorf("stage ids %d %d %d", ops[stages[0]].Args[0].Val, ops[stages[1]].Args[0].Val, ops[stages[2]].Args[0].Val)
	}
	if r := index(ops, stages[0], func(o sysprog.OpInfo) bool { return o.Name == "sendto" }); r < 0 || r > stages[1] {
		t.Errorf("no 'R' before the Go runner waits for start:%s", dumpOps(ops))
	}
}

// A new user namespace: the parent writes the maps at 'U', then the
// runner becomes root there, before any sysctl, hostname or mount.
func TestCompileUserNamespace(t *testing.T) {
	pl, ops := compileOpsOf(t, testSpec(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	}))
	if !pl.userSync || pl.ns.rawFlags()&unix.CLONE_NEWUSER == 0 {
		t.Fatalf("userSync %v, clone flags %#x", pl.userSync, pl.ns.rawFlags())
	}
	wait := index(ops, 0, named("Wait"))
	root := index(ops, 0, named("setresuid"))
	host := index(ops, 0, named("sethostname"))
	mount := index(ops, 0, named("mount"))
	if wait < 0 || root < wait || host < root || mount < root || ops[root].Args[0].Val != 0 {
		t.Errorf("Wait %d, setresuid(0) %d, sethostname %d, mount %d:%s", wait, root, host, mount, dumpOps(ops))
	}
}

// Namespaces joined by path are joined first (raw child only), then the
// new ones unshared; a pid namespace that only children enter makes the
// raw child fork a copy there (Respawn) before it mounts /proc.
func TestCompileJoinedNamespaces(t *testing.T) {
	pl, ops := compileOpsOf(t, testSpec(t, func(s *specs.Spec) {
		for i := range s.Linux.Namespaces {
			if s.Linux.Namespaces[i].Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = "/proc/self/ns/net"
			}
		}
	}))
	if pl.ns.rawFlags() != 0 || !pl.respawn {
		t.Fatalf("clone flags %#x, respawn %v: want none (joins first), and a respawn", pl.ns.rawFlags(), pl.respawn)
	}
	setns := index(ops, 0, named("setns"))
	unshare := index(ops, 0, named("unshare"))
	respawn := index(ops, 0, named("Respawn"))
	procMount := index(ops, 0, func(o sysprog.OpInfo) bool { s, _ := o.Args[0].Str(); return o.Name == "fsopen" && s == "proc" })
	if setns < 0 || unshare < setns || respawn < unshare || procMount < respawn {
		t.Fatalf("setns %d, unshare %d, Respawn %d, proc's fsopen %d:%s", setns, unshare, respawn, procMount, dumpOps(ops))
	}
	for _, i := range []int{setns, unshare, respawn} {
		if !ops[i].RawOnly {
			t.Errorf("op %d %s is not the raw child's only", i, ops[i])
		}
	}
	if ops[unshare].Args[0].Val&unix.CLONE_NEWNET != 0 || ops[unshare].Args[0].Val&unix.CLONE_NEWPID == 0 {
		t.Errorf("unshare(%#x): want the new ones only", ops[unshare].Args[0].Val)
	}
}

// clone(2) cannot take CLONE_NEWTIME: a new time namespace is unshared.
func TestCompileTimeNamespace(t *testing.T) {
	pl, ops := compileOpsOf(t, testSpec(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	}))
	if pl.ns.rawFlags()&unix.CLONE_NEWTIME != 0 {
		t.Errorf("clone flags %#x hold CLONE_NEWTIME", pl.ns.rawFlags())
	}
	if i := index(ops, 0, func(o sysprog.OpInfo) bool {
		return o.Name == "unshare" && o.Args[0].Val == unix.CLONE_NEWTIME
	}); i < 0 {
		t.Errorf("no unshare(CLONE_NEWTIME):%s", dumpOps(ops))
	}
}

// A terminal: the pty opened in the container's devpts after the root
// changed, the slave given to the user, the master sent, the slave the
// controlling terminal.
func TestCompileTerminal(t *testing.T) {
	_, ops := compileOpsOf(t, testSpec(t, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.User = specs.User{UID: 1000, GID: 1000}
	}))
	pivot := index(ops, 0, named("pivot_root"))
	ptmx := index(ops, 0, func(o sysprog.OpInfo) bool { s, _ := o.Args[1].Str(); return o.Name == "openat" && s == "/dev/ptmx" })
	chown := index(ops, 0, named("fchown"))
	send := index(ops, 0, named("SendFD"))
	ctty := index(ops, 0, func(o sysprog.OpInfo) bool { return o.Name == "ioctl" && o.Args[1].Val == unix.TIOCSCTTY })
	if pivot < 0 || ptmx < pivot || chown < ptmx || send < chown || ctty < send {
		t.Fatalf("pivot_root %d, /dev/ptmx %d, fchown %d, SendFD %d, TIOCSCTTY %d:%s", pivot, ptmx, chown, send, ctty, dumpOps(ops))
	}
	if ops[chown].Args[1].Val != 1000 || ops[chown].Args[2].Val != 1000 {
		t.Errorf("the pty goes to %d:%d, want 1000:1000", ops[chown].Args[1].Val, ops[chown].Args[2].Val)
	}
}

// An exec: in the container's cgroup before it joins anything, the user
// namespace first and the mount namespace last, a forked copy before a
// time namespace; the raw child spawns the process, the Go runner
// executes it.
func TestCompileExec(t *testing.T) {
	o := &ExecOptions{Spec: &specs.Spec{Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"}},
		Namespaces: map[string]string{"user": "/proc/self/ns/user", "mount": "/proc/self/ns/mnt", "time": "/proc/self/ns/time", "pid": "/proc/self/ns/pid"}}
	pl, err := compileExecProcess(o)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.close()
	ops := pl.p.Ops()
	wait := index(ops, 0, named("Wait"))
	var order []string
	for i := wait; i >= 0 && i < len(ops); i++ {
		if ops[i].Name == "setns" || ops[i].Name == "Respawn" {
			order = append(order, ops[i].Name)
		}
	}
	if wait < 0 || index(ops, 0, named("setns")) < wait {
		t.Fatalf("Wait (cgroup) at %d, not before the joins:%s", wait, dumpOps(ops))
	}
	if want := []string{"setns", "setns", "Respawn", "setns", "setns"}; !slices.Equal(order, want) {
		t.Errorf("joins %v, want %v (user, pid, a fork, time, mount)", order, want)
	}
	spawn, exec := index(ops, 0, named("SpawnThrough")), index(ops, 0, named("ExecThrough"))
	if spawn < 0 || exec < 0 || !ops[spawn].RawOnly || !ops[exec].GoOnly {
		t.Errorf("SpawnThrough %d (raw only?), ExecThrough %d (Go only?):%s", spawn, exec, dumpOps(ops))
	}
}

// Without a process the program ends waiting for a start that never
// comes: no search for an executable, no user change.
func TestCompileWithoutProcess(t *testing.T) {
	_, ops := compileOpsOf(t, testSpec(t, func(s *specs.Spec) { s.Process = nil }))
	for _, n := range []string{"FindExec", "setresuid", "TryChdir"} {
		if i := index(ops, 0, named(n)); i >= 0 {
			t.Errorf("%s at %d without a process", n, i)
		}
	}
	if ops[len(ops)-1].Name != "ExecThrough" {
		t.Errorf("the program ends with %s", ops[len(ops)-1].Name)
	}
}

// A config's errors come back before anything runs, naming the field.
func TestCompileRefusesBadConfig(t *testing.T) {
	for _, c := range []struct {
		mod  func(*specs.Spec)
		want string
	}{
		{func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		}, "linux.uidMappings"},
		{func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, "linux.namespaces"},
		{func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"../x": "1"} }, "linux.sysctl"},
	} {
		_, err := compileCreate(testSpec(t, c.mod))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err %v, want one naming %s", err, c.want)
		}
	}
}
