package mount

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/spec"
	"github.com/hako-dev/hako/internal/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The namespaces of `hako spec`'s default configuration.
const defaultNS = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP

// run compiles and runs sc on sc.Runner with the namespaces cloneflags:
// in this process, or, for an outer scenario, in a helper with a mount
// namespace of its own that runs the inner one with sc.Cloneflags.
func run(t *testing.T, sc scenario, cloneflags uintptr) result {
	t.Helper()
	testutil.RequiresRoot(t)
	before := hostMounts(t)
	var res result
	var err error
	if sc.Outer != nil {
		res, err = spawnOuter(sc)
	} else {
		sc.Cloneflags = cloneflags
		res, err = runScenario(sc)
	}
	if err != nil {
		t.Fatal(err)
	}
	checkHostUnchanged(t, before, sc.Config.Rootfs)
	return res
}

// forRunners runs f once per runner, as a subtest named after it.
func forRunners(t *testing.T, f func(t *testing.T, runner string)) {
	t.Helper()
	testutil.RequiresRoot(t)
	for _, r := range runners {
		t.Run(r, func(t *testing.T) { f(t, r) })
	}
}

func hostMounts(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkHostUnchanged compares the test's (the host's) mount table with the
// one before the scenario. Other tests on the machine may mount things of
// their own meanwhile, so only mounts that mention the rootfs' directory
// count as added; no mount that existed may change or go away.
func checkHostUnchanged(t *testing.T, before, rootfs string) {
	t.Helper()
	added, gone := diffLines(before, hostMounts(t))
	dir := filepath.Dir(rootfs)
	for _, l := range added {
		if strings.Contains(l, dir) {
			t.Errorf("host mount table gained a mount of the test's: %s", l)
		}
	}
	now := hostMounts(t)
	for _, l := range gone {
		id := strings.SplitN(l, " ", 2)[0]
		if l != "" && strings.Contains("\n"+now, "\n"+id+" ") {
			t.Errorf("host mount changed: was %s", l)
		}
	}
}

func probes(ps ...string) []probe {
	var out []probe
	for _, p := range ps {
		op, path, _ := strings.Cut(p, " ")
		out = append(out, probe{Op: op, Path: path})
	}
	return out
}

func want(t *testing.T, res result, key, out, errName string) {
	t.Helper()
	p, ok := res.Probes[key]
	if !ok {
		t.Fatalf("no probe %q in result (setup error: %s)", key, res.Err)
	}
	if p.Err != errName {
		t.Errorf("%s: error %q, want %q (output %q)", key, p.Err, errName, p.Out)
	}
	if out != "*" && p.Out != out {
		t.Errorf("%s: output %q, want %q", key, p.Out, out)
	}
}

func wantOK(t *testing.T, res result) {
	t.Helper()
	if res.Err != "" {
		t.Fatalf("setup failed: %s", res.Err)
	}
}

func defaultConfig(t *testing.T) Config {
	s := spec.Default()
	return Config{
		Rootfs:        testutil.BusyboxRootfs(t),
		Readonly:      true,
		Mounts:        s.Mounts,
		MaskedPaths:   s.Linux.MaskedPaths,
		ReadonlyPaths: s.Linux.ReadonlyPaths,
		CgroupNS:      true,
	}
}

// mountpoints lists the mount points of a mountinfo text.
func mountpoints(mi string) []string {
	var out []string
	for _, l := range strings.Split(mi, "\n") {
		f := strings.Fields(l)
		if len(f) > 4 {
			out = append(out, f[4])
		}
	}
	return out
}

func defaultProbes() []probe {
	return probes(
		"stat /dev/null", "stat /dev/zero", "stat /dev/full", "stat /dev/random", "stat /dev/urandom", "stat /dev/tty",
		"write /dev/null", "readlink /dev/fd", "readlink /dev/stdin", "readlink /dev/stdout", "readlink /dev/stderr",
		"readlink /dev/ptmx", "readlink /dev/core", "exists /dev/pts/ptmx",
		"write /etc/new-file", "write /tmp/x", "write /dev/shm/x",
		"write /proc/sys/kernel/hostname", "read /proc/keys", "stat /proc/keys", "read /proc/timer_list",
		"ls /sys/firmware", "mkdir /sys/firmware/x", "ls /proc/acpi", "statfs /proc/irq", "statfs /proc/fs",
		"read /etc/hostname", "mountinfo ", "statfs /", "statfs /proc/sys",
	)
}

func checkDefault(t *testing.T, res result, userns bool, extraMounts ...string) {
	t.Helper()
	wantOK(t, res)
	for _, d := range []string{"null 1:3", "zero 1:5", "full 1:7", "random 1:8", "urandom 1:9", "tty 5:0"} {
		name, dev, _ := strings.Cut(d, " ")
		if userns {
			// A bind of the host's node: its mode is the host's.
			p := res.Probes["stat /dev/"+name]
			if !strings.HasPrefix(p.Out, "c ") || !strings.Contains(p.Out, " "+dev+" ") {
				t.Errorf("/dev/%s: %q, want the character device %s", name, p.Out, dev)
			}
			continue
		}
		want(t, res, "stat /dev/"+name, "c 0666 "+dev+" uid=0 gid=0", "")
	}
	want(t, res, "write /dev/null", "", "")
	want(t, res, "readlink /dev/fd", "/proc/self/fd", "")
	want(t, res, "readlink /dev/stdin", "/proc/self/fd/0", "")
	want(t, res, "readlink /dev/stdout", "/proc/self/fd/1", "")
	want(t, res, "readlink /dev/stderr", "/proc/self/fd/2", "")
	want(t, res, "readlink /dev/ptmx", "pts/ptmx", "")
	if _, err := os.Stat("/proc/kcore"); err == nil {
		want(t, res, "readlink /dev/core", "/proc/kcore", "")
	} else {
		want(t, res, "readlink /dev/core", "", "ENOENT") // no kcore to point at
	}
	want(t, res, "exists /dev/pts/ptmx", "", "")
	want(t, res, "write /etc/new-file", "", "EROFS") // root.readonly
	want(t, res, "write /tmp/x", "", "EROFS")
	want(t, res, "write /dev/shm/x", "", "") // a tmpfs of its own stays writable
	want(t, res, "write /proc/sys/kernel/hostname", "", "EROFS")
	for _, p := range []string{"/", "/proc/sys", "/proc/irq", "/proc/fs"} {
		if !strings.HasSuffix(res.Probes["statfs "+p].Out, "ro=true") {
			t.Errorf("statfs %s: %q, want read-only", p, res.Probes["statfs "+p].Out)
		}
	}
	want(t, res, "read /proc/keys", "", "") // masked with /dev/null
	want(t, res, "read /proc/timer_list", "", "")
	want(t, res, "stat /proc/keys", "*", "")
	if !strings.HasPrefix(res.Probes["stat /proc/keys"].Out, "c ") || !strings.Contains(res.Probes["stat /proc/keys"].Out, " 1:3 ") {
		t.Errorf("/proc/keys is %q, want /dev/null bound over it", res.Probes["stat /proc/keys"].Out)
	}
	want(t, res, "ls /proc/acpi", "", "") // masked with an empty tmpfs
	want(t, res, "ls /sys/firmware", "", "")
	want(t, res, "mkdir /sys/firmware/x", "", "EROFS")
	want(t, res, "read /etc/hostname", "busybox\n", "")
	// No trace of the host: every mount point is one the configuration made.
	allowed := []string{"/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/sys/firmware",
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
		"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
		"/proc/sysrq-trigger", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
	allowed = append(allowed, extraMounts...)
	for _, l := range strings.Split(res.Probes["mountinfo "].Out, "\n") {
		if f := strings.Fields(l); len(f) > 6 && f[4] == "/" && (strings.Contains(l, " shared:") || strings.Contains(l, " master:")) {
			t.Errorf("the root must be private by default: %s", l)
		}
	}
	for _, mp := range mountpoints(res.Probes["mountinfo "].Out) {
		ok := strings.HasPrefix(mp, "/sys/fs/cgroup/") || userns && (strings.HasPrefix(mp, "/sys/") || strings.HasPrefix(mp, "/sys2/"))
		for _, a := range allowed {
			ok = ok || mp == a
		}
		if !ok {
			t.Errorf("unexpected mount point %q in the container:\n%s", mp, res.Probes["mountinfo "].Out)
		}
	}
}

// TestDefaultSpec runs `hako spec`'s configuration: its mounts, the
// default devices, masked and read-only paths and a read-only root.
func TestDefaultSpec(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		res := run(t, scenario{Config: defaultConfig(t), Runner: runner, Probes: defaultProbes()}, defaultNS)
		checkDefault(t, res, false)
	})
}

// TestNoPivot is the same with --no-pivot (MS_MOVE + chroot).
func TestNoPivot(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		c := defaultConfig(t)
		c.NoPivot = true
		res := run(t, scenario{Config: c, Runner: runner, Probes: defaultProbes()}, defaultNS)
		checkDefault(t, res, false)
	})
}

// TestUserNamespace runs the rootless configuration in a user namespace:
// devices become binds of the host's nodes, /sys a read-only bind, and
// the flags the kernel locked on a mount of the outer namespace are kept.
func TestUserNamespace(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		s := spec.Default()
		spec.ToRootless(s, 0, 0)
		data := filepath.Join(t.TempDir(), "locked")
		if err := os.Mkdir(data, 0o755); err != nil {
			t.Fatal(err)
		}
		c := Config{
			Rootfs: testutil.BusyboxRootfs(t), Readonly: true, InUserNS: true,
			Mounts: append(s.Mounts,
				specs.Mount{Destination: "/data", Type: "bind", Source: data, Options: []string{"rbind", "ro"}},
				// No network namespace of its own: sysfs is refused, and the
				// host's /sys is bound read-only instead.
				specs.Mount{Destination: "/sys2", Type: "sysfs", Source: "sysfs"}),
			MaskedPaths: s.Linux.MaskedPaths, ReadonlyPaths: s.Linux.ReadonlyPaths,
		}
		ps := append(defaultProbes(), probes("read /data/hello", "write /data/new", "ls /sys/fs/cgroup", "statfs /sys2")...)
		sc := scenario{Config: c, Runner: runner, Probes: ps, UserNS: true, Outer: &outer{LockedTmpfs: data},
			Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS}
		res := run(t, sc, unix.CLONE_NEWNS)
		if res.Err != "" || res.Inner == nil {
			t.Fatalf("outer: %s", res.Err)
		}
		checkDefault(t, *res.Inner, true, "/data", "/sys2")
		want(t, *res.Inner, "read /data/hello", "hi\n", "")
		want(t, *res.Inner, "write /data/new", "", "EROFS")
		want(t, *res.Inner, "statfs /sys2", "0x62656572 ro=true", "")
	})
}

// TestBindReadonly binds a host directory and a host file read-only.
func TestBindReadonly(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		host := t.TempDir()
		if err := os.WriteFile(filepath.Join(host, "hello"), []byte("hi\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c := Config{Rootfs: testutil.BusyboxRootfs(t), Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: host, Options: []string{"rbind", "ro", "nosuid"}},
			{Destination: "/etc/greeting", Type: "none", Source: filepath.Join(host, "hello"), Options: []string{"bind", "ro"}},
			{Destination: "/rw", Source: host, Options: []string{"bind"}},
			{Destination: "/hostsys", Type: "bind", Source: "/sys", Options: []string{"rbind", "rro", "nosuid"}},
			{Destination: "/shared", Type: "tmpfs", Source: "tmpfs", Options: []string{"shared"}},
		}}
		res := run(t, scenario{Config: c, Runner: runner, Probes: probes("read /data/hello", "write /data/new", "read /etc/greeting",
			"write /etc/greeting", "stat /etc/greeting", "write /rw/rw-ok", "write /etc/other",
			"statfs /hostsys", "statfs /hostsys/fs/cgroup", "mountinfo ")}, unix.CLONE_NEWNS|unix.CLONE_NEWPID)
		wantOK(t, res)
		// rro reaches the mounts below the bind, plain ro would not.
		want(t, res, "statfs /hostsys", "0x62656572 ro=true", "")
		want(t, res, "statfs /hostsys/fs/cgroup", "*", "")
		if !strings.HasSuffix(res.Probes["statfs /hostsys/fs/cgroup"].Out, "ro=true") {
			t.Errorf("rro left a submount writable: %q", res.Probes["statfs /hostsys/fs/cgroup"].Out)
		}
		for _, l := range strings.Split(res.Probes["mountinfo "].Out, "\n") {
			f := strings.Fields(l)
			if len(f) > 6 && f[4] == "/shared" && !strings.Contains(l, " shared:") {
				t.Errorf("the shared option did not apply: %s", l)
			}
			if len(f) > 6 && f[4] == "/" && (strings.Contains(l, " shared:") || strings.Contains(l, " master:")) {
				t.Errorf("the root must be private by default: %s", l)
			}
		}
		want(t, res, "read /data/hello", "hi\n", "")
		want(t, res, "write /data/new", "", "EROFS")
		want(t, res, "read /etc/greeting", "hi\n", "")
		want(t, res, "write /etc/greeting", "", "EROFS")
		want(t, res, "write /rw/rw-ok", "", "")
		want(t, res, "write /etc/other", "", "") // the root stays writable
		if _, err := os.Stat(filepath.Join(host, "rw-ok")); err != nil {
			t.Errorf("a write through the rw bind did not reach the host: %v", err)
		}
		if _, err := os.Stat(filepath.Join(host, "new")); err == nil {
			t.Errorf("a write through the ro bind reached the host")
		}
	})
}

// TestSymlinkEscape: destinations through symlinks of the image resolve
// inside the rootfs, as if chrooted, and nothing is created or mounted on
// the host.
func TestSymlinkEscape(t *testing.T) {
	testutil.RequiresRoot(t)
	outside := t.TempDir() // a host directory the image tries to reach
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	forRunners(t, func(t *testing.T, runner string) {
		t.Run("inside", func(t *testing.T) {
			rootfs := testutil.BusyboxRootfs(t)
			// The links' targets exist inside the rootfs too: that is where
			// the mounts must land.
			if err := os.MkdirAll(filepath.Join(rootfs, outside), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(rootfs, "mnt")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(strings.Repeat("../", 20)+strings.TrimPrefix(outside, "/"), filepath.Join(rootfs, "up")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/etc/passwd", filepath.Join(rootfs, "passwd-link")); err != nil {
				t.Fatal(err)
			}
			c := Config{Rootfs: rootfs, Mounts: []specs.Mount{
				{Destination: "/proc", Type: "proc", Source: "proc"},
				{Destination: "/mnt/x", Type: "tmpfs", Source: "tmpfs"},
				{Destination: "/up/y", Type: "tmpfs", Source: "tmpfs"},
				{Destination: "/passwd-link", Type: "bind", Source: src, Options: []string{"bind"}},
			}}
			res := run(t, scenario{Config: c, Runner: runner, Probes: probes(
				"statfs "+filepath.Join(outside, "x"), "statfs "+filepath.Join(outside, "y"), "read /etc/passwd")},
				unix.CLONE_NEWNS|unix.CLONE_NEWPID)
			wantOK(t, res)
			tmpfs := "0x1021994 ro=false"
			want(t, res, "statfs "+filepath.Join(outside, "x"), tmpfs, "")
			want(t, res, "statfs "+filepath.Join(outside, "y"), tmpfs, "")
			want(t, res, "read /etc/passwd", "from host\n", "")
			for _, d := range []string{"x", "y"} {
				if st, err := os.Stat(filepath.Join(rootfs, outside, d)); err != nil || !st.IsDir() {
					t.Errorf("want the destination created inside the rootfs at %s: %v", filepath.Join(rootfs, outside, d), err)
				}
			}
		})
		t.Run("dangling", func(t *testing.T) {
			// The links' targets exist only on the host: as runc does,
			// the destination is made where the link points inside the
			// rootfs, and nothing on the host (checked below).
			rootfs := testutil.BusyboxRootfs(t)
			if err := os.Symlink(outside, filepath.Join(rootfs, "mnt")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(strings.Repeat("../", 20)+strings.TrimPrefix(outside, "/"), filepath.Join(rootfs, "up")); err != nil {
				t.Fatal(err)
			}
			for i, dest := range []string{"/mnt/x", "/up/y", "/up"} {
				c := Config{Rootfs: rootfs, Mounts: []specs.Mount{{Destination: dest, Type: "tmpfs", Source: "tmpfs"}}}
				res := run(t, scenario{Config: c, Runner: runner}, unix.CLONE_NEWNS|unix.CLONE_NEWPID)
				wantOK(t, res)
				inside := filepath.Join(rootfs, outside, strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(dest, "/mnt"), "/up"), "/"))
				if st, err := os.Stat(inside); err != nil || !st.IsDir() {
					t.Errorf("%d: mount at %s through a dangling symlink: want %s made inside the rootfs: %v", i, dest, inside, err)
				}
			}
		})
	})
	ents, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("the host directory %s got %d entries through the image's symlinks", outside, len(ents))
	}
	if b, _ := os.ReadFile("/etc/passwd"); string(b) == "from host\n" {
		t.Fatal("the host's /etc/passwd was overmounted")
	}
}

// TestProcSysSymlinkRefused: a /proc or /sys that is a symlink in the image
// is refused, as are mounts over security files inside /proc.
func TestProcSysSymlinkRefused(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		for _, tc := range []struct{ name, dir, typ string }{
			{"proc", "proc", "proc"},
			{"sys", "sys", "sysfs"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rootfs := testutil.BusyboxRootfs(t)
				if err := os.Remove(filepath.Join(rootfs, tc.dir)); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("/tmp", filepath.Join(rootfs, tc.dir)); err != nil {
					t.Fatal(err)
				}
				c := Config{Rootfs: rootfs, Mounts: []specs.Mount{
					{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"},
					{Destination: "/" + tc.dir, Type: tc.typ, Source: tc.typ},
				}}
				res := run(t, scenario{Config: c, Runner: runner}, unix.CLONE_NEWNS|unix.CLONE_NEWPID|unix.CLONE_NEWNET)
				if res.Err == "" {
					t.Fatal("mounting over a symlinked /" + tc.dir + " succeeded")
				}
				t.Log(res.Err)
				if !res.IsError || res.Field != "mounts[1]" || res.Errno != "ELOOP" || !strings.Contains(res.Err, "symlink") {
					t.Errorf("error %q (field %q, errno %q), want a *mount.Error for mounts[1] about a symlink (ELOOP)", res.Err, res.Field, res.Errno)
				}
			})
		}
		t.Run("inside-proc", func(t *testing.T) {
			c := Config{Rootfs: testutil.BusyboxRootfs(t), Mounts: []specs.Mount{
				{Destination: "/proc", Type: "proc", Source: "proc"},
				{Destination: "/proc/sys/kernel/hostname", Type: "bind", Source: "/etc/hostname", Options: []string{"bind"}},
			}}
			res := run(t, scenario{Config: c, Runner: runner}, unix.CLONE_NEWNS|unix.CLONE_NEWPID)
			if res.Field != "mounts[1]" || res.Errno != "EPERM" || !strings.Contains(res.Err, "not allowed") {
				t.Errorf("error %q (field %q, errno %q), want mounts[1] refused (EPERM)", res.Err, res.Field, res.Errno)
			}
		})
	})
}

// TestBadType: an unknown filesystem type fails with ENODEV, naming the
// mount.
func TestBadType(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		c := Config{Rootfs: testutil.BusyboxRootfs(t), Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/x", Type: "nosuchfs", Source: "none"},
		}}
		res := run(t, scenario{Config: c, Runner: runner}, unix.CLONE_NEWNS|unix.CLONE_NEWPID)
		t.Log(res.Err)
		if res.Errno != "ENODEV" || res.Field != "mounts[1]" || res.Step != "mounting" || !res.Compiled {
			t.Fatalf("error %q (step %q, field %q, errno %q, from the runner %v), want ENODEV for mounts[1] from the runner",
				res.Err, res.Step, res.Field, res.Errno, res.Compiled)
		}
		for _, s := range []string{`mounting "none" to rootfs at "/x"`, "mounts[1]", "(ENODEV)", `"nosuchfs"`, "hint:"} {
			if !strings.Contains(res.Err, s) {
				t.Errorf("error %q lacks %q", res.Err, s)
			}
		}
	})
}

// TestMissingBindSource names the source and hints at it.
func TestMissingBindSource(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		c := Config{Rootfs: testutil.BusyboxRootfs(t), Mounts: []specs.Mount{
			{Destination: "/data", Type: "bind", Source: "/nonexistent/hako", Options: []string{"rbind"}},
		}}
		res := run(t, scenario{Config: c, Runner: runner}, unix.CLONE_NEWNS|unix.CLONE_NEWPID)
		if res.Errno != "ENOENT" || !strings.Contains(res.Err, "the bind source must exist on the host") || !strings.Contains(res.Err, "mounts[0]") {
			t.Fatalf("error %q (errno %q)", res.Err, res.Errno)
		}
	})
}

// TestNoLeak: the outer namespace makes "/" shared, so that any mount the
// inner one made without the program's private (or slave) propagation
// would appear in it. The negative control shows that the check can fail.
func TestNoLeak(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		t.Run("compiled", func(t *testing.T) {
			sc := scenario{Config: defaultConfig(t), Runner: runner, Outer: &outer{MakeShared: true}, Cloneflags: defaultNS}
			res := run(t, sc, unix.CLONE_NEWNS)
			if res.Err != "" || res.Inner == nil {
				t.Fatalf("outer: %s", res.Err)
			}
			wantOK(t, *res.Inner)
			if len(res.MountsAdded) != 0 || len(res.MountsGone) != 0 {
				t.Errorf("the outer mount table changed:\nadded: %q\ngone: %q", res.MountsAdded, res.MountsGone)
			}
		})
		t.Run("control", func(t *testing.T) {
			sc := scenario{Config: defaultConfig(t), Runner: runner, NoPrepare: true, Outer: &outer{MakeShared: true}, Cloneflags: unix.CLONE_NEWNS}
			res := run(t, sc, unix.CLONE_NEWNS)
			if res.Err != "" || res.Inner == nil {
				t.Fatalf("outer: %s", res.Err)
			}
			wantOK(t, *res.Inner)
			if len(res.MountsAdded) == 0 {
				t.Error("a mount made without the program's propagation did not propagate: the leak check cannot fail")
			}
		})
	})
}

// TestDevices creates configured devices and refuses paths outside /dev.
func TestDevices(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		uid, gid := uint32(1000), uint32(1001)
		mode := os.FileMode(0o600)
		c := Config{Rootfs: testutil.BusyboxRootfs(t), Mounts: []specs.Mount{
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=755"}},
		}, Devices: []specs.LinuxDevice{
			{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid},
			{Path: "/dev/sub/dir/loopy", Type: "b", Major: 7, Minor: 0},
			{Path: "/dev/fifo", Type: "p"},
			{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: &mode},
		}}
		res := run(t, scenario{Config: c, Runner: runner, Probes: probes("stat /dev/fuse", "stat /dev/sub/dir/loopy",
			"stat /dev/fifo", "stat /dev/null", "stat /dev/zero")}, unix.CLONE_NEWNS|unix.CLONE_NEWPID)
		wantOK(t, res)
		want(t, res, "stat /dev/fuse", "c 0600 10:229 uid=1000 gid=1001", "")
		want(t, res, "stat /dev/sub/dir/loopy", "b 0666 7:0 uid=0 gid=0", "")
		want(t, res, "stat /dev/fifo", "p 0666 0:0 uid=0 gid=0", "")
		want(t, res, "stat /dev/null", "c 0600 1:3 uid=0 gid=0", "") // the configuration wins over the default
		want(t, res, "stat /dev/zero", "c 0666 1:5 uid=0 gid=0", "")

		for i, p := range []string{"/etc/evil", "/dev/../etc/evil", "dev/rel", "/dev"} {
			c := Config{Rootfs: testutil.BusyboxRootfs(t), Devices: []specs.LinuxDevice{
				{Path: "/dev/ok", Type: "c", Major: 1, Minor: 3},
				{Path: p, Type: "c", Major: 1, Minor: 3},
			}}
			res := run(t, scenario{Config: c, Runner: runner}, unix.CLONE_NEWNS|unix.CLONE_NEWPID)
			if res.Field != "linux.devices[1]" || res.Errno != "EINVAL" {
				t.Errorf("%d: device %q: error %q (field %q), want EINVAL for linux.devices[1]", i, p, res.Err, res.Field)
			}
			if _, err := os.Lstat(filepath.Join(c.Rootfs, "etc/evil")); err == nil {
				t.Errorf("%d: device %q was made in the image's /etc", i, p)
			}
		}
	})
}

// TestCgroupV1 checks the "cgroup" mount on a cgroup v1 or hybrid host,
// with and without a cgroup namespace.
func TestCgroupV1(t *testing.T) {
	testutil.RequiresRoot(t)
	if cgroup2Only() {
		t.Skip("needs a cgroup v1 or hybrid host")
	}
	forRunners(t, func(t *testing.T, runner string) {
		for _, cgns := range []bool{true, false} {
			name := map[bool]string{true: "cgroupns", false: "host-cgroupns"}[cgns]
			t.Run(name, func(t *testing.T) {
				c := Config{Rootfs: testutil.BusyboxRootfs(t), CgroupNS: cgns, Mounts: []specs.Mount{
					{Destination: "/proc", Type: "proc", Source: "proc"},
					{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
					{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
				}}
				flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET)
				if cgns {
					flags |= unix.CLONE_NEWCGROUP
				}
				res := run(t, scenario{Config: c, Runner: runner, Probes: probes("ls /sys/fs/cgroup", "read /sys/fs/cgroup/memory/cgroup.procs",
					"exists /sys/fs/cgroup/memory/memory.limit_in_bytes", "mkdir /sys/fs/cgroup/memory/hako-test",
					"mkdir /sys/fs/cgroup/extra", "statfs /sys/fs/cgroup/unified")}, flags)
				wantOK(t, res)
				got := " " + res.Probes["ls /sys/fs/cgroup"].Out + " "
				for _, d := range []string{"memory", "cpu", "pids", "devices", "freezer", "systemd", "unified"} {
					if !strings.Contains(got, " "+d+" ") {
						t.Errorf("/sys/fs/cgroup lacks %s: %q", d, got)
					}
				}
				// The container's own init (pid 1 in its namespace), as
				// the prober's pid namespace numbers it.
				if res.NSInitPid != 1 {
					t.Errorf("the runner is pid %d in its namespace, want 1", res.NSInitPid)
				}
				init := strconv.Itoa(res.InitPid)
				if procs := res.Probes["read /sys/fs/cgroup/memory/cgroup.procs"].Out; res.InitPid == 0 || !strings.Contains("\n"+procs, "\n"+init+"\n") {
					t.Errorf("the container's memory cgroup.procs %q lacks its own init (pid 1, seen as %s)", procs, init)
				}
				want(t, res, "exists /sys/fs/cgroup/memory/memory.limit_in_bytes", "", "")
				want(t, res, "mkdir /sys/fs/cgroup/memory/hako-test", "", "EROFS")
				want(t, res, "mkdir /sys/fs/cgroup/extra", "", "EROFS")
				want(t, res, "statfs /sys/fs/cgroup/unified", "0x63677270 ro=true", "")
			})
		}
	})
}

// TestTmpCopyUp fills a tmpfs with what the image had at its destination,
// symlinks copied as symlinks. It is a stage of the Go runner: the raw
// child refuses the program.
func TestTmpCopyUp(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		rootfs := testutil.BusyboxRootfs(t)
		etc := filepath.Join(rootfs, "etc")
		if err := os.MkdirAll(filepath.Join(etc, "sub/deeper"), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(etc, "sub/deeper/f"), []byte("deep\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(etc, "sub/deeper/f"), 123, 456); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/etc/shadow-on-host", filepath.Join(etc, "link")); err != nil {
			t.Fatal(err)
		}
		c := Config{Rootfs: rootfs, Mounts: []specs.Mount{
			{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "nosuid"}},
		}}
		res := run(t, scenario{Config: c, Runner: runner, Probes: probes("read /etc/hostname", "readlink /etc/link",
			"stat /etc/sub/deeper/f", "read /etc/sub/deeper/f", "stat /etc/sub", "write /etc/new", "statfs /etc")},
			unix.CLONE_NEWNS|unix.CLONE_NEWPID)
		if runner == "raw" {
			if !strings.Contains(res.Refused, "tmpcopyup (mounts[0]) needs the Go runner") {
				t.Fatalf("the raw child ran a tmpcopyup program: %+v", res)
			}
			return
		}
		wantOK(t, res)
		want(t, res, "read /etc/hostname", "busybox\n", "")
		want(t, res, "readlink /etc/link", "/etc/shadow-on-host", "")
		want(t, res, "stat /etc/sub/deeper/f", "f 0600 0:0 uid=123 gid=456", "")
		want(t, res, "read /etc/sub/deeper/f", "deep\n", "")
		want(t, res, "stat /etc/sub", "d 0750 0:0 uid=0 gid=0", "")
		want(t, res, "write /etc/new", "", "")
		want(t, res, "statfs /etc", "0x1021994 ro=false", "")
		if _, err := os.Stat(filepath.Join(etc, "new")); err == nil {
			t.Error("a write into the tmpfs reached the image")
		}
	})
}

// TestRootPropagation: an explicit linux.rootfsPropagation applies to the
// new root, without reaching the outer namespace.
func TestRootPropagation(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		c := Config{Rootfs: testutil.BusyboxRootfs(t), Propagation: "rshared", Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
		}}
		sc := scenario{Config: c, Runner: runner, Probes: probes("mountinfo "), Outer: &outer{MakeShared: true},
			Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID}
		res := run(t, sc, unix.CLONE_NEWNS)
		if res.Err != "" || res.Inner == nil {
			t.Fatalf("outer: %s", res.Err)
		}
		wantOK(t, *res.Inner)
		found := false
		for _, l := range strings.Split(res.Inner.Probes["mountinfo "].Out, "\n") {
			if f := strings.Fields(l); len(f) > 6 && f[4] == "/" {
				found = true
				if !strings.Contains(l, " shared:") {
					t.Errorf("rshared did not apply to the root: %s", l)
				}
			}
		}
		if !found {
			t.Error("no root in the container's mountinfo")
		}
		if len(res.MountsAdded) != 0 || len(res.MountsGone) != 0 {
			t.Errorf("the outer mount table changed:\nadded: %q\ngone: %q", res.MountsAdded, res.MountsGone)
		}
	})
}

// TestMaskRefusesFakeNull: masked paths are covered with the container's
// /dev/null only when it is the null device (char 1:3); an image (or a
// bound /dev) that puts a file or a symlink there to choose what masked
// paths show is refused (CVE-2025-52565 class).
func TestMaskRefusesFakeNull(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		for _, tc := range []struct {
			name string
			make func(dev string) error
		}{
			{"file", func(dev string) error {
				return os.WriteFile(filepath.Join(dev, "null"), []byte("chosen by the image\n"), 0o644)
			}},
			{"symlink", func(dev string) error { return os.Symlink("/etc/passwd", filepath.Join(dev, "null")) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dev := t.TempDir()
				if err := tc.make(dev); err != nil {
					t.Fatal(err)
				}
				c := Config{Rootfs: testutil.BusyboxRootfs(t), Mounts: []specs.Mount{
					{Destination: "/proc", Type: "proc", Source: "proc"},
					{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"rbind"}},
				}, MaskedPaths: []string{"/etc/hostname", "/proc/kcore"}}
				res := run(t, scenario{Config: c, Runner: runner, Probes: probes("read /etc/hostname")}, unix.CLONE_NEWNS|unix.CLONE_NEWPID)
				if !res.IsError || res.Errno != "ENODEV" || !strings.HasPrefix(res.Field, "linux.maskedPaths") ||
					!strings.Contains(res.Err, "not the null device") {
					t.Errorf("error %q (field %q, errno %q; probes %v), want the fake /dev/null refused with ENODEV for linux.maskedPaths",
						res.Err, res.Field, res.Errno, res.Probes)
				}
			})
		}
	})
}

// TestRefuseHostMountNS: a program run in PID 1's mount namespace (a
// runner without a mount namespace of its own, or one that joined the
// host's) must refuse before it changes anything: every mount, starting
// with making "/" private, would change the host's mounts. Here "the
// host" is an outer namespace that is PID 1 of a pid namespace of its own.
func TestRefuseHostMountNS(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		sc := scenario{Config: defaultConfig(t), Runner: runner, Outer: &outer{OwnPID: true}, Cloneflags: 0}
		res := run(t, sc, unix.CLONE_NEWNS)
		if res.Err != "" || res.Inner == nil {
			t.Fatalf("outer: %s", res.Err)
		}
		if !res.Inner.IsError || res.Inner.Errno != "EPERM" || !strings.Contains(res.Inner.Err, "mount namespace") {
			t.Errorf("error %q (errno %q), want a *mount.Error refusing the host's mount namespace (EPERM)", res.Inner.Err, res.Inner.Errno)
		}
		if len(res.MountsAdded) != 0 || len(res.MountsGone) != 0 {
			t.Errorf("the outer mount table changed:\nadded: %q\ngone: %q", res.MountsAdded, res.MountsGone)
		}
	})
}
