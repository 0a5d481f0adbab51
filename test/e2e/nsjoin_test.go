package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// nsLink is how /proc/PID/ns/* names the namespace file at path.
func nsLink(t *testing.T, kind, path string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:[%d]", kind, st.Ino)
}

// A network namespace made with `ip netns add` is joined by path.
func TestJoinNetnsByPath(t *testing.T) { forRunners(t, testJoinNetnsByPath) }

func testJoinNetnsByPath(t *testing.T, e *env) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2")
	}
	name := "hako-e2e-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	// An address makes the joined namespace recognisable by content.
	if out, err := exec.Command("ip", "-n", name, "addr", "add", "127.1.2.3/8", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	path := "/run/netns/" + name
	out := e.mustSh("netns", "readlink /proc/self/ns/net; ip addr show lo", func(s *specs.Spec) {
		setNS(s, specs.NetworkNamespace, path)
	})
	l := lines(out)
	if len(l) == 0 || l[0] != nsLink(t, "net", path) {
		t.Fatalf("container's net ns %q, want %s", l, nsLink(t, "net", path))
	}
	if !strings.Contains(out, "127.1.2.3") {
		t.Errorf("the joined namespace's address is not visible: %q", out)
	}
}

// A second container joins the first's net, ipc, uts and pid namespaces
// through /proc/PID/ns/*: it sees the same namespaces and the first
// container's process.
func TestJoinAnotherContainersNamespaces(t *testing.T) {
	forRunners(t, testJoinAnotherContainersNamespaces)
}

func testJoinAnotherContainersNamespaces(t *testing.T, e *env) {
	a := e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) { s.Hostname = "first" })
	e.must("run", "-d", "--bundle", a, "first")
	pid := e.state("first").Pid
	defer e.deleteAndReap("first", pid)
	ns := func(kind string) string { return "/proc/" + strconv.Itoa(pid) + "/ns/" + kind }
	out := e.mustSh("second", "for n in net ipc uts pid; do readlink /proc/self/ns/$n; done; hostname; ps -o comm", func(s *specs.Spec) {
		s.Hostname = ""
		setNS(s, specs.NetworkNamespace, ns("net"))
		setNS(s, specs.IPCNamespace, ns("ipc"))
		setNS(s, specs.UTSNamespace, ns("uts"))
		setNS(s, specs.PIDNamespace, ns("pid"))
	})
	l := lines(out)
	if len(l) < 5 {
		t.Fatalf("unexpected output %q", out)
	}
	for i, kind := range []string{"net", "ipc", "uts", "pid"} {
		want, _ := os.Readlink(ns(kind))
		if l[i] != want {
			t.Errorf("%s ns %s, want the first container's %s", kind, l[i], want)
		}
	}
	if l[4] != "first" {
		t.Errorf("hostname %q in the joined uts ns, want first", l[4])
	}
	if !strings.Contains(out, "sleep") {
		t.Errorf("the joined pid ns does not show the first container's sleep: %q", out)
	}
}

// A container joins another container's user namespace by path (as the
// containers of a pod share one) and makes its other namespaces in it: it
// is root there, with the first container's id maps, and its new
// namespaces belong to that user namespace. Joining the caller's own user
// namespace is refused with the field and a hint; nothing is left.
func TestJoinUserNamespace(t *testing.T) { forRunners(t, testJoinUserNamespace) }

func testJoinUserNamespace(t *testing.T, e *env) {
	first := e.bundle([]string{"sleep", "1000"}, nil)
	remap(t, first)
	e.must("run", "-d", "--bundle", first, "owner")
	pid := e.state("owner").Pid
	defer e.deleteAndReap("owner", pid)
	userNS := "/proc/" + itoa(pid) + "/ns/user"
	want, err := os.Readlink(userNS)
	if err != nil {
		t.Fatal(err)
	}

	// The same namespace through a bind mount of its nsfd, as a pod
	// manager pins one.
	pinned := filepath.Join(t.TempDir(), "userns")
	if err := os.WriteFile(pinned, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(userNS, pinned, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(pinned, unix.MNT_DETACH)
	for i, path := range []string{userNS, pinned} {
		second := e.bundle([]string{"sh", "-c", "readlink /proc/self/ns/user; id -u; cat /proc/self/uid_map; touch /dev/shm/made && stat -c %u /dev/shm/made"}, nil)
		remap(t, second)
		s, err := spec.Load(filepath.Join(second, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		setNS(s, specs.UserNamespace, path)
		s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		if err := spec.Write(filepath.Join(second, "config.json"), s); err != nil {
			t.Fatal(err)
		}
		out := e.must("run", "--bundle", second, "joiner"+itoa(i))
		if got := strings.Join(strings.Fields(out), " "); got != want+" 0 0 100000 65536 0" {
			t.Errorf("in the user namespace joined through %s: %q, want %q, uid 0, the owner's map and a file made as its root", path, got, want)
		}
	}
	// exec into a container that joined it lands in it too, as its root.
	third := e.bundle([]string{"sleep", "1000"}, nil)
	remap(t, third)
	s, err := spec.Load(filepath.Join(third, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	setNS(s, specs.UserNamespace, pinned)
	s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
	if err := spec.Write(filepath.Join(third, "config.json"), s); err != nil {
		t.Fatal(err)
	}
	e.must("run", "-d", "--bundle", third, "joined")
	defer e.deleteAndReap("joined", e.state("joined").Pid)
	if got := strings.Fields(e.must("exec", "joined", "sh", "-c", "readlink /proc/self/ns/user; id -u")); strings.Join(got, " ") != want+" 0" {
		t.Errorf("exec into the container that joined: %q, want %q and uid 0", got, want)
	}

	before := mountinfo(t)
	r := e.sh("joinself", "true", func(s *specs.Spec) {
		setNS(s, specs.UserNamespace, "/proc/self/ns/user")
	})
	if r.code == 0 || !strings.Contains(r.stderr, "user namespace") || !strings.Contains(r.stderr, "/proc/self/ns/user") {
		t.Errorf("joining hako's own user ns by path: %s", r)
	}
	e.noLeftovers("joinself", before)
}

// A path that is not a namespace of the named type is refused with the
// field and a hint; nothing is left.
func TestJoinWrongNamespaceType(t *testing.T) { forRunners(t, testJoinWrongNamespaceType) }

func testJoinWrongNamespaceType(t *testing.T, e *env) {
	before := mountinfo(t)
	r := e.sh("wrongns", "true", func(s *specs.Spec) {
		setNS(s, specs.NetworkNamespace, "/proc/self/ns/ipc")
	})
	if r.code == 0 || !strings.Contains(r.stderr, "network") || !strings.Contains(r.stderr, "/proc/self/ns/ipc") {
		t.Errorf("joining an ipc ns as network: %s", r)
	}
	e.noLeftovers("wrongns", before)
}

// A new network namespace has its loopback interface up, as with runc.
func TestNewNetnsHasLoopbackUp(t *testing.T) { forRunners(t, testNewNetnsHasLoopbackUp) }

func testNewNetnsHasLoopbackUp(t *testing.T, e *env) {
	out := e.mustSh("lo", "readlink /proc/self/ns/net; ip addr show lo", nil)
	if l := lines(out); len(l) == 0 || l[0] == hostNS(t, "net") {
		t.Fatalf("not a new net ns: %q", out)
	}
	if !strings.Contains(out, ",UP") || !strings.Contains(out, "127.0.0.1") {
		t.Errorf("lo is not up with 127.0.0.1: %q", out)
	}
}

// A new time namespace is the container's process's own (clone(2) cannot
// take CLONE_NEWTIME: the runner unshares it and the process enters it as
// it executes), and an exec'd process joins it (through a forked copy of
// the raw child: setns into a time namespace needs a process that shares
// its memory with no other).
func TestTimeNamespace(t *testing.T) { forRunners(t, testTimeNamespace) }

func testTimeNamespace(t *testing.T, e *env) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("no time namespaces here")
	}
	b := e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	})
	e.must("run", "-d", "--bundle", b, "timens")
	pid := e.state("timens").Pid
	defer e.deleteAndReap("timens", pid)
	ns, err := os.Readlink("/proc/" + itoa(pid) + "/ns/time")
	if err != nil {
		t.Fatal(err)
	}
	if ns == hostNS(t, "time") {
		t.Fatalf("the container's process is in the host's time namespace %s", ns)
	}
	if out := strings.TrimSpace(e.must("exec", "timens", "readlink", "/proc/self/ns/time")); out != ns {
		t.Errorf("exec'd process in time namespace %q, the container's is %s", out, ns)
	}
}
