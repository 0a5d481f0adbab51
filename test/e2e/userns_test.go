package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/spec"
)

// chownTree gives every file under dir to uid:gid (without following
// symlinks), as an image unpacked for a remapped container is.
func chownTree(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// traversable opens the directories leading to a bundle (test temp dirs
// are 0700) so that a remapped root, which is nobody on the host, can reach
// its rootfs.
func traversable(t *testing.T, bundle string) {
	t.Helper()
	for d := bundle; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// remap gives the bundle's config a user namespace mapping container
// 0-65535 to host 100000-165535, and its rootfs to host 100000, so that the
// remapped root owns it and can reach it.
func remap(t *testing.T, b string) {
	t.Helper()
	s, err := spec.Load(filepath.Join(b, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	if err := spec.Write(filepath.Join(b, "config.json"), s); err != nil {
		t.Fatal(err)
	}
	chownTree(t, filepath.Join(b, "rootfs"), 100000, 100000)
	traversable(t, b)
}

// A user namespace mapping container 0-65535 to host 100000-165535: the
// maps inside are the config's, the process is root inside and uid 100000
// on the host, and it owns the (chowned) rootfs.
func TestUserNamespaceMapping(t *testing.T) { forRunners(t, testUserNamespaceMapping) }

func testUserNamespaceMapping(t *testing.T, e *env) {
	b := e.bundle([]string{"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; stat -c %u /bin/busybox; touch /dev/shm/x && echo WRITE-OK; sleep 1000 & wait"}, nil)
	remap(t, b)
	out := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := e.command("run", "-d", "--bundle", b, "userns")
	// Files, not pipes: the detached container keeps hako's stdio open.
	stderr := tempFile(t)
	cmd.Stdout, cmd.Stderr = f, stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run -d: %v: %s", err, readAll(stderr))
	}
	pid := e.state("userns").Pid
	defer e.deleteAndReap("userns", pid)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if uids := strings.Fields(statusField(string(status), "Uid")); len(uids) != 4 || uids[0] != "100000" || uids[1] != "100000" {
		t.Errorf("host sees the process's uids %v, want 100000", uids)
	}
	if gids := strings.Fields(statusField(string(status), "Gid")); len(gids) != 4 || gids[0] != "100000" {
		t.Errorf("host sees the process's gids %v, want 100000", gids)
	}
	if ns, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/user"); ns == hostNS(t, "user") {
		t.Errorf("container is in the host's user namespace %s", ns)
	}
	// The output is complete once the shell reached sleep.
	waitForChild(t, pid)
	got, _ := os.ReadFile(out)
	want := []string{"0 100000 65536", "0 100000 65536", "0", "0", "0", "WRITE-OK"}
	var norm []string
	for _, l := range lines(string(got)) {
		norm = append(norm, strings.Join(strings.Fields(l), " "))
	}
	if strings.Join(norm, "|") != strings.Join(want, "|") {
		t.Errorf("inside: %q, want %q", norm, want)
	}
}

// `hako spec --rootless` writes a config an unprivileged user can run; run
// as root it still works: root maps to our own uid, the network namespace
// is the host's, /sys is a bind mount.
func TestRootlessSpecRunsAsRoot(t *testing.T) { forRunners(t, testRootlessSpecRunsAsRoot) }

func testRootlessSpecRunsAsRoot(t *testing.T, e *env) {
	b := e.bundle([]string{"true"}, nil)
	os.Remove(filepath.Join(b, "config.json"))
	e.must("spec", "--rootless", "--bundle", b)
	s, err := spec.Load(filepath.Join(b, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !hasNSType(s, specs.UserNamespace) || hasNSType(s, specs.NetworkNamespace) {
		t.Fatalf("spec --rootless namespaces: %+v", s.Linux.Namespaces)
	}
	s.Process.Terminal = false
	s.Process.Args = []string{"sh", "-c", "cat /proc/self/uid_map; id -u; readlink /proc/self/ns/net; readlink /proc/self/ns/user; ls /sys/class/net"}
	if err := spec.Write(filepath.Join(b, "config.json"), s); err != nil {
		t.Fatal(err)
	}
	r := e.run("run", "--bundle", b, "rootless")
	if r.code != 0 {
		t.Fatal(r)
	}
	l := lines(r.stdout)
	if len(l) < 5 {
		t.Fatalf("unexpected output %q", r.stdout)
	}
	if strings.Join(strings.Fields(l[0]), " ") != "0 0 1" || l[1] != "0" {
		t.Errorf("uid_map %q, uid %q; want \"0 0 1\" and 0", l[0], l[1])
	}
	if l[2] != hostNS(t, "net") {
		t.Errorf("rootless config's net ns %s is not the host's %s", l[2], hostNS(t, "net"))
	}
	if l[3] == hostNS(t, "user") {
		t.Errorf("rootless config did not create a user namespace")
	}
	if !strings.Contains(r.stdout, "lo") {
		t.Errorf("/sys (bound from the host) does not list the host's interfaces: %q", r.stdout)
	}
}

func hasNSType(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, n := range s.Linux.Namespaces {
		if n.Type == t {
			return true
		}
	}
	return false
}

// A user namespace that does not map container uid 0 cannot set the
// container up; it is refused with the field named, and nothing is left.
func TestUserNamespaceWithoutRootMappingIsRefused(t *testing.T) {
	forRunners(t, testUserNamespaceWithoutRootMappingIsRefused)
}

func testUserNamespaceWithoutRootMappingIsRefused(t *testing.T, e *env) {
	before := mountinfo(t)
	r := e.sh("noroot", "true", func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 100000, Size: 10}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 100000, Size: 10}}
	})
	if r.code == 0 || !strings.Contains(r.stderr, "linux.uidMappings") || !strings.Contains(r.stderr, "0") {
		t.Errorf("config without a root mapping: %s", r)
	}
	e.noLeftovers("noroot", before)
}

// An error in the init's first steps (here a sysctl the kernel refuses)
// reaches the user with its step and field, not as "exited before it was
// ready".
func TestEarlyInitErrorIsReported(t *testing.T) { forRunners(t, testEarlyInitErrorIsReported) }

func testEarlyInitErrorIsReported(t *testing.T, e *env) {
	for i := 0; i < 3; i++ { // the lost-message race needs a few tries
		r := e.sh("sysctl", "true", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "not-a-number"}
		})
		if r.code == 0 || !strings.Contains(r.stderr, `linux.sysctl["net.ipv4.ip_forward"]`) || !strings.Contains(r.stderr, "invalid argument") {
			t.Fatalf("try %d: %s", i, r)
		}
	}
}

// exec into a container with its own user namespace, on both runners: the
// raw child joins it (a multi-threaded Go process may not), and hands over
// to the Go runner there when that one runs the program. The process is
// root inside, uid 100000 (or 101000 for --user 1000) on the host, in the
// container's user namespace.
func TestExecUserNamespace(t *testing.T) { forRunners(t, testExecUserNamespace) }

func testExecUserNamespace(t *testing.T, e *env) {
	b := e.bundle([]string{"sleep", "1000"}, nil)
	remap(t, b)
	cmd := e.command("run", "-d", "--bundle", b, "usexec")
	cmd.Stdout, cmd.Stderr = tempFile(t), tempFile(t)
	if err := cmd.Run(); err != nil {
		t.Fatalf("run -d: %v", err)
	}
	pid := e.state("usexec").Pid
	defer e.deleteAndReap("usexec", pid)

	out := e.must("exec", "usexec", "sh", "-c", "id -u; id -g; cat /proc/self/uid_map")
	if got := strings.Join(strings.Fields(out), " "); got != "0 0 0 100000 65536" {
		t.Errorf("inside: %q, want uid 0, gid 0, map \"0 100000 65536\"", out)
	}
	for _, c := range []struct {
		user    string
		hostUID string
	}{{"", "100000"}, {"1000:1000", "101000"}} {
		pidFile := filepath.Join(t.TempDir(), "exec.pid")
		args := []string{"exec", "--detach", "--pid-file", pidFile}
		if c.user != "" {
			args = append(args, "--user", c.user)
		}
		e.must(append(args, "usexec", "sleep", "999")...)
		pb, _ := os.ReadFile(pidFile)
		epid, _ := strconv.Atoi(string(pb))
		status, err := os.ReadFile("/proc/" + strconv.Itoa(epid) + "/status")
		if err != nil {
			t.Fatal(err)
		}
		if uids := strings.Fields(statusField(string(status), "Uid")); len(uids) != 4 || uids[0] != c.hostUID {
			t.Errorf("--user %q: host sees uids %v, want %s", c.user, uids, c.hostUID)
		}
		initNS, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/user")
		execNS, _ := os.Readlink("/proc/" + strconv.Itoa(epid) + "/ns/user")
		if initNS != execNS || execNS == hostNS(t, "user") {
			t.Errorf("exec'd process in user namespace %s; the container's is %s, the host's %s", execNS, initNS, hostNS(t, "user"))
		}
		syscall.Kill(epid, syscall.SIGKILL)
		waitReap(t, epid)
	}
}

// In a user namespace the container may have capabilities the runtime
// itself lacks (here CAP_SYS_RESOURCE, missing from this host's bounding
// set): a process that makes or joins a user namespace holds them all
// there, as runc allows; they are neither refused nor dropped.
func TestUserNamespaceCapabilitiesBeyondTheRuntimes(t *testing.T) {
	forRunners(t, func(t *testing.T, e *env) {
		caps := []string{"CAP_SYS_RESOURCE", "CAP_KILL"}
		b := e.bundle([]string{"sh", "-c", "grep -E '^Cap(Bnd|Eff|Prm):' /proc/self/status"}, func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
		})
		remap(t, b)
		out := e.must("run", "--bundle", b, "usercaps")
		const sysResource, kill = 24, 5
		for _, l := range lines(out) {
			name, v, _ := strings.Cut(l, ":")
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			if mask != 1<<sysResource|1<<kill {
				t.Errorf("%s %#x, want CAP_SYS_RESOURCE and CAP_KILL only (%#x)", name, mask, uint64(1<<sysResource|1<<kill))
			}
		}
		if len(lines(out)) != 3 {
			t.Errorf("output %q", out)
		}
	})
}

// In a user namespace, a bind source below a directory only the host's
// root may enter (0700) still mounts: hako clones it before the runner
// enters the namespace, as runc opens mount sources first. The files are
// the host's (root's, unmapped: nobody inside), readable where their
// modes allow.
func TestUserNamespaceBindUnreachableSource(t *testing.T) {
	forRunners(t, testUserNamespaceBindUnreachableSource)
}

func testUserNamespaceBindUnreachableSource(t *testing.T, e *env) {
	private := t.TempDir()
	data := filepath.Join(private, "data")
	os.Mkdir(data, 0o755)
	if err := os.WriteFile(filepath.Join(data, "f"), []byte("reached\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := e.bundle([]string{"cat", "/data/f"}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: data, Options: []string{"rbind", "ro"}})
	})
	remap(t, b)
	if err := os.Chmod(private, 0o700); err != nil { // root's only (remap opened the test's directories)
		t.Fatal(err)
	}
	if got := strings.TrimSpace(e.must("run", "--bundle", b, "unreach")); got != "reached" {
		t.Errorf("cat /data/f: %q", got)
	}
}
