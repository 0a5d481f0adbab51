package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// --no-pivot (MS_MOVE + chroot) still runs in the rootfs, with it as "/".
func TestNoPivot(t *testing.T) { forRunners(t, testNoPivot) }

func testNoPivot(t *testing.T, e *env) {
	b := e.bundle([]string{"sh", "-c", `ls /; awk '$5=="/" {print $4}' /proc/self/mountinfo`}, nil)
	os.WriteFile(filepath.Join(b, "rootfs", "marker-no-pivot"), nil, 0o644)
	r := e.run("run", "--no-pivot", "--bundle", b, "nopivot")
	if r.code != 0 {
		t.Fatal(r)
	}
	if !strings.Contains(r.stdout, "marker-no-pivot") {
		t.Errorf("ls / is not the rootfs: %q", r.stdout)
	}
	root, _ := filepath.EvalSymlinks(filepath.Join(b, "rootfs"))
	if l := lines(r.stdout); l[len(l)-1] != root {
		t.Errorf("the mount at / is %q, want the rootfs %s", l[len(l)-1], root)
	}
}

// root.readonly: "/" is read-only (EROFS), and writable without it.
func TestRootReadonly(t *testing.T) { forRunners(t, testRootReadonly) }

func testRootReadonly(t *testing.T, e *env) {
	for _, ro := range []bool{true, false} {
		b := e.bundle([]string{"sh", "-c", "touch /written 2>&1; echo done"}, func(s *specs.Spec) { s.Root.Readonly = ro })
		r := e.run("run", "--bundle", b, "ro")
		_, err := os.Stat(filepath.Join(b, "rootfs", "written"))
		switch {
		case r.code != 0:
			t.Errorf("readonly %v: %s", ro, r)
		case ro && (err == nil || !strings.Contains(r.stdout, "Read-only file system")):
			t.Errorf("readonly root was written (file exists: %v): %q", err == nil, r.stdout)
		case !ro && err != nil:
			t.Errorf("writable root: the file was not written: %q", r.stdout)
		}
	}
}

// linux.rootfsPropagation against a shared host mount holding the bundle:
// private (the default) sees nothing the host mounts later, rslave and
// rshared receive host mounts; tags in mountinfo agree.
func TestRootfsPropagation(t *testing.T) { forRunners(t, testRootfsPropagation) }

func testRootfsPropagation(t *testing.T, e *env) {
	for _, prop := range []string{"", "rslave", "rshared"} {
		b := e.bundle([]string{"sh", "-c", "sleep 1000 & wait"}, func(s *specs.Spec) { s.Linux.RootfsPropagation = prop })
		os.MkdirAll(filepath.Join(b, "rootfs", "mnt"), 0o755)
		if err := unix.Mount(b, b, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("", b, "", unix.MS_SHARED, ""); err != nil {
			unix.Unmount(b, unix.MNT_DETACH)
			t.Fatal(err)
		}
		func() {
			defer unix.Unmount(b, unix.MNT_DETACH)
			e.must("run", "-d", "--bundle", b, "prop")
			pid := e.state("prop").Pid
			defer e.deleteAndReap("prop", pid)
			hostMnt := filepath.Join(b, "rootfs", "mnt")
			if err := unix.Mount("hako-prop", hostMnt, "tmpfs", 0, "size=1m"); err != nil {
				t.Fatal(err)
			}
			defer unix.Unmount(hostMnt, unix.MNT_DETACH)
			mi, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
			if err != nil {
				t.Fatal(err)
			}
			var rootTags string
			gotMnt := false
			for _, l := range lines(string(mi)) {
				f := strings.Fields(l)
				if len(f) > 6 && f[4] == "/" {
					rootTags = strings.Join(f[6:], " ")
				}
				if len(f) > 4 && f[4] == "/mnt" {
					gotMnt = true
				}
			}
			wantMnt := prop != ""
			if gotMnt != wantMnt {
				t.Errorf("rootfsPropagation %q: host mount visible inside = %v, want %v", prop, gotMnt, wantMnt)
			}
			hasShared, hasMaster := strings.Contains(rootTags, "shared:"), strings.Contains(rootTags, "master:")
			switch prop {
			case "":
				if hasShared || hasMaster {
					t.Errorf("default propagation: root tags %q, want private", rootTags)
				}
			case "rslave":
				if hasShared || !hasMaster {
					t.Errorf("rslave: root tags %q, want master:N only", rootTags)
				}
			case "rshared":
				if !hasShared || !hasMaster {
					t.Errorf("rshared: root tags %q, want shared:N (in its own group) and master:N", rootTags)
				}
			}
		}()
	}
}

// Masked paths read as empty (files) or empty directories; read-only paths
// refuse writes with EROFS; config-given ones in the rootfs as well.
func TestMaskedAndReadonlyPaths(t *testing.T) { forRunners(t, testMaskedAndReadonlyPaths) }

func testMaskedAndReadonlyPaths(t *testing.T, e *env) {
	// /proc/kcore is absent on kernels built without it; a masked path
	// that does not exist is skipped.
	script := `for f in /proc/kcore /proc/keys /proc/timer_list /etc/secret; do [ -e $f ] && echo "$f $(wc -c < $f)" || echo "$f 0"; done
ls -A /secretdir | wc -l
(echo 1 > /proc/sys/kernel/hostname) 2>&1
(echo x > /data/f) 2>&1
for p in /proc/sys /proc/bus /proc/irq /proc/fs /data; do awk -v p=$p '$5==p {split($6, o, ","); print p, o[1]}' /proc/self/mountinfo | tail -1; done`
	b := e.bundle([]string{"sh", "-c", script}, func(s *specs.Spec) {
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/etc/secret", "/secretdir")
		s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/data")
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs"})
	})
	os.WriteFile(filepath.Join(b, "rootfs", "etc", "secret"), []byte("top secret"), 0o644)
	os.MkdirAll(filepath.Join(b, "rootfs", "secretdir"), 0o755)
	os.WriteFile(filepath.Join(b, "rootfs", "secretdir", "inside"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(b, "rootfs", "data"), 0o755)
	r := e.run("run", "--bundle", b, "masked2")
	if r.code != 0 {
		t.Fatal(r)
	}
	l := lines(r.stdout)
	if len(l) != 12 {
		t.Fatalf("unexpected output %q", r.stdout)
	}
	for _, x := range l[:4] {
		if f := strings.Fields(x); len(f) != 2 || f[1] != "0" {
			t.Errorf("masked file is not empty: %q", x)
		}
	}
	if l[4] != "0" {
		t.Errorf("masked directory lists %s entries", l[4])
	}
	for i, what := range []string{"/proc/sys", "/data"} {
		if !strings.Contains(l[5+i], "Read-only file system") {
			t.Errorf("write to read-only %s: %q", what, l[5+i])
		}
	}
	for _, x := range l[7:] {
		if f := strings.Fields(x); len(f) != 2 || f[1] != "ro" {
			t.Errorf("read-only path is not mounted ro: %q", x)
		}
	}
}

// The default devices exist with the right type and numbers, the /dev
// symlinks point where they should, and linux.devices adds a device the
// device cgroup lets the process use only when resources allow it.
func TestDevices(t *testing.T) { forRunners(t, testDevices) }

func testDevices(t *testing.T, e *env) {
	script := `stat -c '%n %F %t:%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/hakonull /dev/hakomem
for l in ptmx fd stdin stdout stderr; do echo "$l -> $(readlink /dev/$l)"; done
echo x > /dev/hakonull && echo hakonull-writable
head -c1 /dev/hakomem >/dev/null 2>&1 || echo hakomem-denied`
	mode := os.FileMode(0o640)
	uid, gid := uint32(0), uint32(0)
	allow := func(major, minor int64) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwm"}
	}
	out := e.mustSh("devices", script, func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/hakonull", Type: "c", Major: 1, Minor: 3, FileMode: &mode, UID: &uid, GID: &gid},
			{Path: "/dev/hakomem", Type: "c", Major: 1, Minor: 1, FileMode: &mode, UID: &uid, GID: &gid},
		}
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, allow(1, 3))
	})
	want := []string{
		"/dev/null character special file 1:3 666",
		"/dev/zero character special file 1:5 666",
		"/dev/full character special file 1:7 666",
		"/dev/random character special file 1:8 666",
		"/dev/urandom character special file 1:9 666",
		"/dev/tty character special file 5:0 666",
		"/dev/hakonull character special file 1:3 640",
		"/dev/hakomem character special file 1:1 640",
		"ptmx -> pts/ptmx",
		"fd -> /proc/self/fd",
		"stdin -> /proc/self/fd/0",
		"stdout -> /proc/self/fd/1",
		"stderr -> /proc/self/fd/2",
		"hakonull-writable",
		"hakomem-denied",
	}
	if got := lines(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Without a mount namespace hako mounts nothing: a config with mounts is
// refused by name before anything is made (runc mounts them in the host's
// mount table and leaves them there), and one without runs chrooted in a
// root that has a procfs already ("/").
func TestNoMountNamespace(t *testing.T) { forRunners(t, testNoMountNamespace) }

func testNoMountNamespace(t *testing.T, e *env) {
	before := mountinfo(t)
	b := e.bundle([]string{"true"}, func(s *specs.Spec) {
		withoutNS(s, specs.MountNamespace)
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
	})
	r := e.run("run", "--bundle", b, "nomntns")
	if r.code == 0 || !strings.Contains(r.stderr, "mounts") || !strings.Contains(r.stderr, "mount namespace") {
		t.Errorf("mounts without a mount namespace were not refused by name: %s", r)
	}
	e.noLeftovers("nomntns", before)
	b = e.bundle([]string{"/bin/busybox", "sh", "-c", "readlink /proc/self/ns/mnt"}, func(s *specs.Spec) {
		withoutNS(s, specs.MountNamespace)
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths, s.Mounts = nil, nil, nil
		s.Root = &specs.Root{Path: "/"}
	})
	out := e.must("run", "--bundle", b, "hostroot")
	if got, want := strings.TrimSpace(out), hostNS(t, "mnt"); got != want {
		t.Errorf("mount namespace %q, want the host's %q", got, want)
	}
}
