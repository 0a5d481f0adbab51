package mount

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	o := parseOptions([]string{"nosuid", "strictatime", "mode=755", "size=65536k", "ro", "rw", "rbind", "rslave", "x-systemd.automount", "rro", "rnoatime"})
	if o.flags != unix.MS_NOSUID|unix.MS_STRICTATIME {
		t.Errorf("flags %#x", o.flags)
	}
	if o.clear&unix.MS_RDONLY == 0 {
		t.Error("rw after ro must clear MS_RDONLY")
	}
	if !o.bind || !o.recursive {
		t.Error("rbind not recognised")
	}
	if !reflect.DeepEqual(o.propagation, []uintptr{unix.MS_REC | unix.MS_SLAVE}) {
		t.Errorf("propagation %v", o.propagation)
	}
	if got := o.dataString(); got != "mode=755,size=65536k" {
		t.Errorf("data %q", got)
	}
	a := o.recursiveAttr()
	if a == nil || a.Attr_set != unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOATIME || a.Attr_clr != unix.MOUNT_ATTR__ATIME {
		t.Errorf("recursive attr %+v", a)
	}
	if o := parseOptions([]string{"nosuid"}); o.recursiveAttr() != nil {
		t.Error("no r* option must mean no mount_setattr")
	}
	if o := parseOptions([]string{"idmap"}); !o.idmap || o.ridmap || len(o.unsupported) != 0 || len(o.data) != 0 {
		t.Errorf("idmap: %+v", o)
	}
	if o := parseOptions([]string{"rbind", "ridmap"}); !o.idmap || !o.ridmap || len(o.data) != 0 {
		t.Errorf("ridmap: %+v", o)
	}
	if u := parseOptions([]string{"copy-symlink"}).unsupported; len(u) != 1 {
		t.Errorf("copy-symlink must be reported unsupported, got %v", u)
	}
	if o := parseOptions([]string{"tmpcopyup", "mode=755"}); !o.copyUp || o.dataString() != "mode=755" {
		t.Errorf("tmpcopyup: %+v", o)
	}
	// The atime modes exclude each other: the last one wins.
	o = parseOptions([]string{"noatime", "relatime"})
	if o.flags&atimeFlags != unix.MS_RELATIME || o.clear&unix.MS_NOATIME == 0 {
		t.Errorf("noatime,relatime: flags %#x clear %#x", o.flags, o.clear)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Step: "mounting", Source: "proc", Destination: "/proc", Type: "proc", Field: "mounts[0]", Err: unix.EACCES}
	got := e.Error()
	if !strings.HasPrefix(got, `mounting "proc" to rootfs at "/proc" (mounts[0]): permission denied (EACCES) — hint: `) {
		t.Errorf("got %q", got)
	}
	if !errors.Is(e, unix.EACCES) {
		t.Error("errors.Is must see the errno")
	}
	for _, tc := range []struct {
		e    *Error
		want string
	}{
		{&Error{Step: "mounting", Source: "/x", Destination: "/x", Type: "bind", Field: "mounts[2]", Err: &os.PathError{Op: "stat", Path: "/x", Err: unix.ENOENT}},
			"(ENOENT) — hint: the bind source must exist on the host"},
		{&Error{Step: "mounting", Source: "none", Destination: "/x", Type: "nosuchfs", Field: "mounts[1]", Err: unix.ENODEV},
			`(ENODEV) — hint: the kernel does not know filesystem type "nosuchfs"`},
		{&Error{Step: "mounting", Source: "tmpfs", Destination: "/x", Type: "tmpfs", Field: "mounts[4]", Err: unix.EINVAL},
			"check mounts[4].options"},
		{&Error{Step: "mounting", Source: "/f", Destination: "/x", Type: "bind", Err: unix.ENOTDIR}, "a file and a directory are mixed up"},
		{&Error{Step: "mounting", Source: "proc", Destination: "/proc", Type: "proc", Err: unix.EPERM, inUserNS: true}, "user namespace"},
		{&Error{Step: "creating device", Destination: "/dev/fuse", Type: "c", Field: "linux.devices[0]", Err: unix.EPERM},
			`creating device "/dev/fuse" (linux.devices[0], type c): operation not permitted (EPERM)`},
		{&Error{Step: "masking", Destination: "/proc/kcore", Field: "linux.maskedPaths[2]", Err: reasonf(unix.ENODEV, "not the null device")},
			`masking "/proc/kcore" (linux.maskedPaths[2]): not the null device (ENODEV)`},
	} {
		if got := tc.e.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%q lacks %q", got, tc.want)
		}
		if !errors.Is(tc.e, errnoIn(tc.e.Err)) {
			t.Errorf("%q: errors.Is lost the errno", tc.e.Error())
		}
	}
}

func TestPlanCgroups(t *testing.T) {
	procCgroup := "12:cpu,cpuacct:/a/b\n11:name=systemd:/a\n10:memory:/other\n9:pids:/a\n0::/a/b\n"
	mounts := []*mountinfo.Info{
		{Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/", FSType: "cgroup", VFSOptions: "rw,cpu,cpuacct"},
		{Mountpoint: "/sys/fs/cgroup/systemd", Root: "/", FSType: "cgroup", VFSOptions: "rw,xattr,name=systemd"},
		// This process's memory cgroup is not below the mount's root.
		{Mountpoint: "/sys/fs/cgroup/memory", Root: "/a", FSType: "cgroup", VFSOptions: "rw,memory"},
		{Mountpoint: "/sys/fs/cgroup/unified", Root: "/", FSType: "cgroup2", VFSOptions: "rw"},
	}
	got := planCgroups([]byte(procCgroup), mounts)
	want := []hierarchy{
		{dir: "cpu,cpuacct", fstype: "cgroup", options: "cpu,cpuacct", hostPath: "/sys/fs/cgroup/cpu,cpuacct/a/b", links: []string{"cpu", "cpuacct"}},
		{dir: "systemd", fstype: "cgroup", options: "name=systemd", hostPath: "/sys/fs/cgroup/systemd/a"},
		{dir: "memory", fstype: "cgroup", options: "memory"},
		{dir: "pids", fstype: "cgroup", options: "pids"}, // not mounted on the host
		{dir: "unified", fstype: "cgroup2", hostPath: "/sys/fs/cgroup/unified/a/b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestCheckDevicePath(t *testing.T) {
	for p, ok := range map[string]bool{"/dev/null": true, "/dev/a/../b": true, "/dev": false, "/dev/../etc/x": false,
		"/etc/x": false, "dev/x": false, "/devx": false} {
		_, err := checkDevicePath(p)
		if (err == nil) != ok {
			t.Errorf("%q: err %v, want ok=%v", p, err, ok)
		}
	}
	for _, typ := range []string{"c", "u", "b", "p"} {
		if _, err := deviceType(typ); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	if _, err := deviceType("x"); !errors.Is(err, unix.EINVAL) {
		t.Errorf("type x: %v", err)
	}
}

func TestCheckRootfs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		c     Config
		errno unix.Errno
	}{
		{Config{Rootfs: "relative"}, unix.EINVAL},
		{Config{Rootfs: "/a/../b"}, unix.EINVAL},
		{Config{Rootfs: "/"}, unix.EINVAL},
		{Config{Rootfs: "/nonexistent/hako"}, unix.ENOENT},
		{Config{Rootfs: file}, unix.ENOTDIR},
		{Config{Rootfs: t.TempDir(), Propagation: "sideways"}, unix.EINVAL},
	} {
		err := tc.c.checkRootfs()
		var me *Error
		if !errors.As(err, &me) || !errors.Is(err, tc.errno) {
			t.Errorf("%+v: %v, want a *Error with %s", tc.c, err, unix.ErrnoName(tc.errno))
		}
	}
}

// errnoIn is the errno err wraps.
func errnoIn(err error) unix.Errno {
	var errno unix.Errno
	errors.As(err, &errno)
	return errno
}

func TestResolveInRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "real/dir"), 0o755)
	for link, target := range map[string]string{
		"dangling": "/nonexistent/target", "rel": "real/dir", "up": "../../../real", "loop": "loop", "chain": "/dangling/deeper",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	for dest, want := range map[string]string{
		"/dangling": "/nonexistent/target", "/rel/sub": "/real/dir/sub", "/up/dir": "/real/dir",
		"/plain/new": "/plain/new", "/chain": "/nonexistent/target/deeper", "/real/../rel": "/real/dir",
	} {
		if got := resolveInRoot(root, dest); got != want {
			t.Errorf("resolveInRoot(%q) = %q, want %q", dest, got, want)
		}
	}
	if got := resolveInRoot(root, "/loop/x"); !strings.HasPrefix(got, "/loop") {
		t.Errorf("a symlink loop resolves to %q; it must stop inside the root", got)
	}
}
