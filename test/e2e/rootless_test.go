package e2e

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/testutil"
)

// nobody is the unprivileged user the rootless tests run as.
const nobody = 65534

// asNobody runs bin as nobody in dir with $XDG_RUNTIME_DIR set (and no
// --root: the default must be there), returning stdout, stderr and the
// exit code.
func asNobody(t *testing.T, bin, dir, xdg, runner string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "XDG_RUNTIME_DIR=" + xdg, "HAKO_INIT=" + runner, "HOME=/nonexistent"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	// Files, not pipes: a detached container keeps its stdio.
	so, se := tempFile(t), tempFile(t)
	cmd.Stdout, cmd.Stderr = so, se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return readAll(so), readAll(se), code
}

// runDetachedAsNobody runs the bundle's container detached as nobody and
// returns its state.
func runDetachedAsNobody(t *testing.T, bin, bundle, xdg, runner, id string) ociState {
	t.Helper()
	if _, se, code := asNobody(t, bin, bundle, xdg, runner, "run", "-d", id); code != 0 {
		t.Fatalf("run -d as nobody: %s", se)
	}
	var st ociState
	out, _, _ := asNobody(t, bin, bundle, xdg, runner, "state", id)
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("state %s as nobody: %q: %v", id, out, err)
	}
	return st
}

// openCopy copies file src to a new file of mode perm in dir, readable by
// nobody.
func openCopy(t *testing.T, src, dir string, perm os.FileMode) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(dir, filepath.Base(src))
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	return dst
}

// nobodyBundle sets up, for nobody, a copy of hako (bin), a busybox
// bundle nobody owns with the config `hako spec --rootless` wrote as
// nobody (returned as s), and an $XDG_RUNTIME_DIR; top holds them all.
func nobodyBundle(t *testing.T, e *env) (top, bin, bundle, xdg, cfg string, s specs.Spec) {
	t.Helper()
	top = t.TempDir()
	os.Chmod(top, 0o755)
	os.Chmod(filepath.Dir(top), 0o755) // the test's temporary directories' parent
	bin = openCopy(t, e.bin, top, 0o755)
	if helper := filepath.Join(filepath.Dir(e.bin), "hako-seccomp"); fileExists(helper) {
		openCopy(t, helper, top, 0o755)
	}
	bundle = filepath.Join(top, "bundle")
	xdg = filepath.Join(top, "xdg")
	for _, d := range []string{bundle, xdg} {
		os.Mkdir(d, 0o700)
		os.Chown(d, nobody, nobody)
	}
	if err := os.Rename(testutil.BusyboxRootfs(t), filepath.Join(bundle, "rootfs")); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(filepath.Join(bundle, "rootfs"), func(p string, _ os.FileInfo, _ error) error {
		return os.Lchown(p, nobody, nobody)
	})
	if _, se, code := asNobody(t, bin, bundle, xdg, e.runner, "spec", "--rootless"); code != 0 {
		t.Fatalf("spec --rootless as nobody: %s", se)
	}
	cfg = filepath.Join(bundle, "config.json")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0].HostID != nobody {
		t.Fatalf("spec --rootless as nobody maps %+v, want nobody's own uid", s.Linux.UIDMappings)
	}
	return top, bin, bundle, xdg, cfg, s
}

// A `hako spec --rootless` bundle runs for an unprivileged user (nobody):
// its own uid mapped to root, state under $XDG_RUNTIME_DIR/hako, no
// cgroup it may not make, `exec` into it, and nothing left after delete.
// The same bundle runs under Debian's runc as nobody, and prints the same.
func TestRootlessAsNobody(t *testing.T) { forRunners(t, testRootlessAsNobody) }

func testRootlessAsNobody(t *testing.T, e *env) {
	top, bin, bundle, xdg, cfg, s := nobodyBundle(t, e)
	var b []byte
	s.Process.Terminal = false
	s.Process.Args = []string{"sh", "-c", "id -u; id -g; cat /proc/self/uid_map | tr -s ' '; hostname"}
	b, _ = json.Marshal(&s)
	os.WriteFile(cfg, b, 0o644)

	want := "0\n0\n 0 65534 1\n" + s.Hostname + "\n"
	out, se, code := asNobody(t, bin, bundle, xdg, e.runner, "run", "rl")
	if code != 0 || out != want {
		t.Fatalf("run as nobody: exit %d, %q (stderr %s), want %q", code, out, se, want)
	}
	if runc, err := exec.LookPath("runc"); err == nil {
		out, se, code := asNobody(t, runc, bundle, xdg, "", "--root", filepath.Join(xdg, "runc"), "run", "rl-runc")
		if code != 0 || out != want {
			t.Errorf("runc as nobody: exit %d, %q (stderr %s); hako printed %q", code, out, se, want)
		}
	}
	s.Process.Args = []string{"sleep", "1000"}
	b, _ = json.Marshal(&s)
	os.WriteFile(cfg, b, 0o644)
	st := runDetachedAsNobody(t, bin, bundle, xdg, e.runner, "rld")
	defer reap(st.Pid)
	if _, err := os.Stat(filepath.Join(xdg, "hako", "rld", "state.json")); err != nil {
		t.Errorf("the state is not under $XDG_RUNTIME_DIR/hako: %v", err)
	}
	if out, se, code := asNobody(t, bin, bundle, xdg, e.runner, "exec", "rld", "id", "-u"); code != 0 || strings.TrimSpace(out) != "0" {
		t.Errorf("exec as nobody: exit %d, %q, %s", code, out, se)
	}
	// nobody joins the user namespace it made (through /proc), but not
	// one root made (pinned where nobody may open it), with the owner
	// named.
	rootNS := exec.Command("unshare", "-U", "sleep", "1000")
	if err := rootNS.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { rootNS.Process.Kill(); rootNS.Wait() }()
	pinned := filepath.Join(top, "root-userns")
	os.WriteFile(pinned, nil, 0o644)
	if err := unix.Mount("/proc/"+itoa(rootNS.Process.Pid)+"/ns/user", pinned, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(pinned, unix.MNT_DETACH)
	join := s
	join.Process = &specs.Process{Args: []string{"cat", "/proc/self/uid_map"}, Cwd: "/", Env: s.Process.Env, User: s.Process.User}
	join.Linux = &specs.Linux{}
	*join.Linux = *s.Linux
	join.Linux.UIDMappings, join.Linux.GIDMappings = nil, nil
	join.Linux.Namespaces = nil
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			ns.Path = "/proc/" + itoa(st.Pid) + "/ns/user"
		}
		join.Linux.Namespaces = append(join.Linux.Namespaces, ns)
	}
	b, _ = json.Marshal(&join)
	os.WriteFile(cfg, b, 0o644)
	if out, se, code := asNobody(t, bin, bundle, xdg, e.runner, "run", "rljoin"); code != 0 || strings.Join(strings.Fields(out), " ") != "0 65534 1" {
		t.Errorf("joining its own user namespace as nobody: exit %d, %q, %s", code, out, se)
	}
	for i := range join.Linux.Namespaces {
		if join.Linux.Namespaces[i].Type == specs.UserNamespace {
			join.Linux.Namespaces[i].Path = pinned
		}
	}
	b, _ = json.Marshal(&join)
	os.WriteFile(cfg, b, 0o644)
	if out, se, code := asNobody(t, bin, bundle, xdg, e.runner, "run", "rlforeign"); code == 0 || !strings.Contains(se, "owned by uid 0") || !strings.Contains(se, "linux.namespaces") {
		t.Errorf("joining root's user namespace as nobody: exit %d, %q, %s; want it refused, naming the owner", code, out, se)
	}
	if _, se, code := asNobody(t, bin, bundle, xdg, e.runner, "delete", "--force", "rld"); code != 0 {
		t.Errorf("delete --force as nobody: %s", se)
	}
	if ents, _ := os.ReadDir(filepath.Join(xdg, "hako")); len(ents) != 0 {
		t.Errorf("left in $XDG_RUNTIME_DIR/hako: %v", ents)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// An unprivileged user maps ranges /etc/subuid and /etc/subgid grant it
// through newuidmap and newgidmap (Debian's uidmap), as runc does; without
// a grant the error names the helper and the file. nobody is granted
// 200000-265535 for the test (the files are restored after).
func TestRootlessRangesThroughNewuidmap(t *testing.T) {
	forRunners(t, testRootlessRangesThroughNewuidmap)
}

func testRootlessRangesThroughNewuidmap(t *testing.T, e *env) {
	for _, h := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(h); err != nil {
			t.Skipf("%s is not installed (Debian: apt install uidmap)", h)
		}
	}
	_, bin, bundle, xdg, cfg, s := nobodyBundle(t, e)
	s.Process.Terminal = false
	s.Process.Args = []string{"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '"}
	s.Linux.UIDMappings = append(s.Linux.UIDMappings, specs.LinuxIDMapping{ContainerID: 1, HostID: 200000, Size: 65536})
	s.Linux.GIDMappings = append(s.Linux.GIDMappings, specs.LinuxIDMapping{ContainerID: 1, HostID: 200000, Size: 65536})
	b, _ := json.Marshal(&s)
	os.WriteFile(cfg, b, 0o644)

	// Without a grant: refused, naming the helper and the file.
	withSubids(t, "")
	if out, se, code := asNobody(t, bin, bundle, xdg, e.runner, "run", "rlnogrant"); code == 0 || !strings.Contains(se, "newuidmap") || !strings.Contains(se, "/etc/subuid") {
		t.Errorf("ranges without a grant: exit %d, %q, %s", code, out, se)
	}
	withSubids(t, "nobody:200000:65536\n")
	want := " 0 65534 1\n 1 200000 65536\n 0 65534 1\n 1 200000 65536\n"
	out, se, code := asNobody(t, bin, bundle, xdg, e.runner, "run", "rlranges")
	if code != 0 || out != want {
		t.Errorf("ranges through newuidmap as nobody: exit %d, %q (stderr %s), want %q", code, out, se, want)
	}
	if runc, err := exec.LookPath("runc"); err == nil && e.runner == "" {
		out, se, code := asNobody(t, runc, bundle, xdg, "", "--root", filepath.Join(xdg, "runc"), "run", "rlranges-runc")
		if code != 0 || out != want {
			t.Errorf("runc as nobody with ranges: exit %d, %q (stderr %s), want %q", code, out, se, want)
		}
	}
}

// withSubids sets /etc/subuid and /etc/subgid to content for the rest of
// the test, and puts back what they held.
func withSubids(t *testing.T, content string) {
	t.Helper()
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		old, err := os.ReadFile(f)
		existed := err == nil
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if existed {
				os.WriteFile(f, old, 0o644)
			} else {
				os.Remove(f)
			}
		})
	}
}

// A cgroup delegated to an unprivileged user (a directory it owns, made by
// root) is used as runc uses it: linux.cgroupsPath below it is made there,
// its limit set and the process moved in; the controllers the user was not
// given are skipped. Here the v1 pids controller is delegated.
func TestRootlessDelegatedCgroup(t *testing.T) { forRunners(t, testRootlessDelegatedCgroup) }

func testRootlessDelegatedCgroup(t *testing.T, e *env) {
	base := "/sys/fs/cgroup/pids"
	if !fileExists(filepath.Join(base, "cgroup.procs")) {
		t.Skip("no cgroup v1 pids hierarchy here")
	}
	name := "hako-e2e-deleg-" + e.runner + itoa(os.Getpid())
	deleg := filepath.Join(base, name)
	if err := os.Mkdir(deleg, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(deleg)
	ents, _ := os.ReadDir(deleg)
	os.Chown(deleg, nobody, nobody)
	for _, f := range ents {
		os.Chown(filepath.Join(deleg, f.Name()), nobody, nobody)
	}
	_, bin, bundle, xdg, cfg, s := nobodyBundle(t, e)
	s.Process.Terminal = false
	s.Process.Args = []string{"sleep", "1000"}
	limit := int64(17)
	s.Linux.CgroupsPath = "/" + name + "/c1"
	s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}
	b, _ := json.Marshal(&s)
	os.WriteFile(cfg, b, 0o644)
	st := runDetachedAsNobody(t, bin, bundle, xdg, e.runner, "deleg")
	defer reap(st.Pid)
	c1 := filepath.Join(deleg, "c1")
	if got := readTrim(t, filepath.Join(c1, "pids.max")); got != "17" {
		t.Errorf("pids.max of the delegated cgroup = %s, want 17", got)
	}
	if got := readTrim(t, filepath.Join(c1, "cgroup.procs")); got != itoa(st.Pid) {
		t.Errorf("the delegated cgroup holds %q, want the container's process %d", got, st.Pid)
	}
	if _, se, code := asNobody(t, bin, bundle, xdg, e.runner, "delete", "--force", "deleg"); code != 0 {
		t.Errorf("delete --force as nobody: %s", se)
	}
	if fileExists(c1) {
		t.Errorf("delete left %s", c1)
	}
}
