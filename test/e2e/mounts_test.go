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

// mountLine finds the last mountinfo line whose mount point is dest and
// returns its per-mount options, fs type and super options.
func mountLine(mountinfo, dest string) (opts, fstype, super string, ok bool) {
	for _, l := range lines(mountinfo) {
		f := strings.Fields(l)
		if len(f) < 10 || f[4] != dest {
			continue
		}
		i := 6
		for i < len(f) && f[i] != "-" {
			i++
		}
		if i+3 < len(f) {
			opts, fstype, super, ok = f[5], f[i+1], f[i+3], true
		}
	}
	return
}

func hasOpt(list, o string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == o {
			return true
		}
	}
	return false
}

// Every kind of mount in config.json as the container sees it: tmpfs with
// options, a read-only bind of a host dir, an rbind that carries a host
// submount (a plain bind does not), recursive read-only, mqueue, a
// read-only sysfs.
func TestMounts(t *testing.T) { forRunners(t, testMounts) }

func testMounts(t *testing.T, e *env) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "hostfile"), []byte("from host\n"), 0o644)
	sub := filepath.Join(host, "sub")
	os.Mkdir(sub, 0o755)
	if err := unix.Mount("hako-sub", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(sub, unix.MNT_DETACH)
	os.WriteFile(filepath.Join(sub, "subfile"), []byte("from submount\n"), 0o644)

	script := `cat /proc/self/mountinfo; echo ===
stat -c %a /scratch; cat /ro/hostfile; (echo x > /ro/new) 2>&1
ls /ro/sub | wc -l; cat /rb/sub/subfile; (touch /sys/x) 2>&1; ls /sys/class/net`
	out := e.mustSh("mounts", script, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "noexec", "size=2m", "mode=0710"}},
			specs.Mount{Destination: "/ro", Type: "bind", Source: host, Options: []string{"bind", "ro"}},
			specs.Mount{Destination: "/rb", Type: "bind", Source: host, Options: []string{"rbind", "ro", "nosuid"}},
			specs.Mount{Destination: "/rro", Type: "bind", Source: host, Options: []string{"rbind", "rro"}},
			specs.Mount{Destination: "/rattr", Type: "bind", Source: host, Options: []string{"rbind", "rnosuid", "rnodev", "rnoexec", "rnoatime", "rnodiratime", "rnosymfollow"}},
		)
	})
	mi, rest, _ := strings.Cut(out, "===\n")
	check := func(dest, wantType string, wantOpts []string, wantSuper []string) {
		t.Helper()
		opts, fstype, super, ok := mountLine(mi, dest)
		if !ok {
			t.Errorf("%s is not a mount point", dest)
			return
		}
		if wantType != "" && fstype != wantType {
			t.Errorf("%s: type %s, want %s", dest, fstype, wantType)
		}
		for _, o := range wantOpts {
			if !hasOpt(opts, o) {
				t.Errorf("%s: options %s lack %s", dest, opts, o)
			}
		}
		for _, o := range wantSuper {
			if !hasOpt(super, o) {
				t.Errorf("%s: fs options %s lack %s", dest, super, o)
			}
		}
	}
	check("/scratch", "tmpfs", []string{"rw", "nosuid", "nodev", "noexec"}, []string{"size=2048k", "mode=710"})
	check("/ro", "", []string{"ro"}, nil)
	check("/dev/mqueue", "mqueue", []string{"nosuid", "nodev", "noexec"}, nil)
	check("/sys", "sysfs", []string{"ro", "nosuid", "nodev", "noexec"}, nil)
	// As with runc, "ro" on an rbind makes only its top read-only;
	// "rro" (mount_setattr) reaches the submounts.
	check("/rb", "", []string{"ro", "nosuid"}, nil)
	check("/rb/sub", "tmpfs", []string{"rw"}, nil)
	check("/rro/sub", "tmpfs", []string{"ro"}, nil)
	// Every recursive attribute reaches the submount too.
	for _, d := range []string{"/rattr", "/rattr/sub"} {
		check(d, "", []string{"rw", "nosuid", "nodev", "noexec", "noatime", "nodiratime", "nosymfollow"}, nil)
	}
	want := []string{"710", "from host", "EROFS-ro", "0", "from submount", "EROFS-sys", "lo"}
	got := lines(rest)
	if len(got) != len(want) {
		t.Fatalf("unexpected output %q", rest)
	}
	for i, w := range want {
		switch w {
		case "EROFS-ro", "EROFS-sys":
			if !strings.Contains(got[i], "Read-only file system") {
				t.Errorf("write to a read-only mount: %q", got[i])
			}
		default:
			if got[i] != w {
				t.Errorf("line %d: %q, want %q", i, got[i], w)
			}
		}
	}
}

// The cgroup mount shows the controllers, and the container's processes
// are in the cgroup that the host sees them in.
func TestCgroupMount(t *testing.T) { forRunners(t, testCgroupMount) }

func testCgroupMount(t *testing.T, e *env) {
	b := e.bundle([]string{"sh", "-c", "ls /sys/fs/cgroup; echo ===; cat /sys/fs/cgroup/pids/cgroup.procs /sys/fs/cgroup/memory/cgroup.procs; sleep 1000 & wait"}, nil)
	so := tempFile(t)
	cmd := e.command("run", "-d", "--bundle", b, "cgmount")
	se := tempFile(t)
	cmd.Stdout, cmd.Stderr = so, se
	if err := cmd.Run(); err != nil {
		t.Fatalf("run -d: %v: %s", err, readAll(se))
	}
	pid := e.state("cgmount").Pid
	defer e.deleteAndReap("cgmount", pid)
	waitForChild(t, pid)
	ctrls, procs, _ := strings.Cut(readAll(so), "===\n")
	for _, c := range []string{"pids", "memory", "devices", "freezer", "cpu"} {
		if !contains(lines(ctrls), c) {
			t.Errorf("/sys/fs/cgroup lacks %s: %q", c, ctrls)
		}
	}
	if p := lines(procs); !contains(p, "1") {
		t.Errorf("pid 1 is not in the container's own pids and memory cgroups: %q", procs)
	}
	// From the host: the init is in the cgroup its /proc/PID/cgroup names.
	cg, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	var pidsPath string
	for _, l := range lines(string(cg)) {
		if f := strings.SplitN(l, ":", 3); len(f) == 3 && f[1] == "pids" {
			pidsPath = f[2]
		}
	}
	if pidsPath == "" || pidsPath == "/" {
		t.Fatalf("the init is in the root pids cgroup: %s", cg)
	}
	hostProcs, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/pids", pidsPath, "cgroup.procs"))
	if err != nil || !contains(lines(string(hostProcs)), strconv.Itoa(pid)) {
		t.Errorf("host %s/cgroup.procs = %q, %v; want pid %d", pidsPath, hostProcs, err, pid)
	}
}

// A tmpfs without mode= takes the mode of the directory it covers (over
// one made for it, tmpfs's 1777), an explicit mode wins; compared with
// Debian's runc, which does the same.
func TestTmpfsModeLikeRunc(t *testing.T) { forRunners(t, testTmpfsModeLikeRunc) }

func testTmpfsModeLikeRunc(t *testing.T, e *env) {
	run := func(e *env, id string) string {
		t.Helper()
		b := e.bundle([]string{"stat", "-c", "%a", "/covered", "/fresh", "/explicit"}, func(s *specs.Spec) {
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/covered", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}},
				specs.Mount{Destination: "/fresh", Type: "tmpfs", Source: "tmpfs"},
				specs.Mount{Destination: "/explicit", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=1777"}})
		})
		if err := os.Mkdir(filepath.Join(b, "rootfs", "covered"), 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(b, "rootfs", "covered"), 0o710)
		return strings.Join(lines(e.must("run", "--bundle", b, id)), " ")
	}
	want := "710 1777 1777"
	if got := run(e, "tmpfsmode"); got != want {
		t.Errorf("tmpfs modes %q, want %q", got, want)
	}
	if r := e.runc(t); r != nil {
		if got := run(r, "tmpfsmode"); got != want {
			t.Errorf("runc gives tmpfs modes %q; the test expects %q", got, want)
		}
	}
}

// linux.maskedPaths as runc 1.5 masks them: a path listed twice is masked
// once, and every masked directory is a clone of one read-only tmpfs (one
// device number), files get /dev/null.
func TestMaskedPathsOnce(t *testing.T) { forRunners(t, testMaskedPathsOnce) }

func testMaskedPathsOnce(t *testing.T, e *env) {
	out := e.mustSh("masked", "cat /proc/self/mountinfo", func(s *specs.Spec) {
		s.Linux.MaskedPaths = []string{"/proc/acpi", "/sys/firmware", "/proc/acpi/", "/proc/timer_list", "/proc/timer_list"}
	})
	devs := map[string][]string{}
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) > 4 {
			devs[f[4]] = append(devs[f[4]], f[2])
		}
	}
	for _, p := range []string{"/proc/acpi", "/sys/firmware", "/proc/timer_list"} {
		if len(devs[p]) != 1 {
			t.Errorf("%s is mounted %d times, want once: %v", p, len(devs[p]), devs[p])
		}
	}
	if a, f := devs["/proc/acpi"], devs["/sys/firmware"]; len(a) == 1 && len(f) == 1 && a[0] != f[0] {
		t.Errorf("the masked directories are two tmpfs (%s, %s), want clones of one", a[0], f[0])
	}
}

// A bind destination reached through a dangling symlink of the image is
// made inside the rootfs, where the symlink points as if chrooted, never on
// the host (compared with Debian's runc, which does the same).
func TestBindThroughDanglingSymlink(t *testing.T) { forRunners(t, testBindThroughDanglingSymlink) }

func testBindThroughDanglingSymlink(t *testing.T, e *env) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("through\n"), 0o644)
	target := "/hako-e2e-dangling-" + e.runner + strconv.Itoa(os.Getpid())
	run := func(e *env, id string) (string, string) {
		t.Helper()
		b := e.bundle([]string{"cat", "/link/f"}, func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/link", Type: "bind", Source: src, Options: []string{"rbind"}})
		})
		if err := os.Symlink(target+"/deeper", filepath.Join(b, "rootfs", "link")); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(e.must("run", "--bundle", b, id)), b
	}
	out, b := run(e, "dangling")
	if out != "through" {
		t.Errorf("cat /link/f: %q", out)
	}
	if _, err := os.Stat(filepath.Join(b, "rootfs", target, "deeper")); err != nil {
		t.Errorf("the destination was not made inside the rootfs: %v", err)
	}
	if _, err := os.Lstat(target); err == nil {
		os.RemoveAll(target)
		t.Fatalf("%s was made on the host", target)
	}
	if r := e.runc(t); r != nil {
		if out, _ := run(r, "dangling"); out != "through" {
			t.Errorf("runc: cat /link/f: %q", out)
		}
	}
}

// A bind source that an earlier mount of the same config makes (here the
// mount point of mounts[n-2], inside the rootfs) is not refused for being
// missing before the container starts: runc mounts it, and so does hako.
func TestBindSourceMadeByEarlierMount(t *testing.T) { forRunners(t, testBindSourceMadeByEarlierMount) }

func testBindSourceMadeByEarlierMount(t *testing.T, e *env) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "hello"), []byte("made earlier\n"), 0o644)
	run := func(e *env, id string) result {
		t.Helper()
		b := e.bundle([]string{"cat", "/other/hello"}, func(s *specs.Spec) {
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/mnt/a", Type: "bind", Source: src, Options: []string{"rbind"}},
				specs.Mount{Destination: "/other", Type: "bind", Source: "rootfs/mnt/a", Options: []string{"rbind"}})
		})
		return e.run("run", "--bundle", b, id)
	}
	if r := run(e, "earlier"); r.code != 0 || strings.TrimSpace(r.stdout) != "made earlier" {
		t.Errorf("hako: %s", r)
	}
	if rc := e.runc(t); rc != nil {
		if r := run(rc, "earlier"); r.code != 0 || strings.TrimSpace(r.stdout) != "made earlier" {
			t.Errorf("runc: %s", r)
		}
	}
}

// A read-only /dev still gets its submounts and device nodes (it is made
// read-only last, as runc does): /dev is ro, /dev/pts, /dev/shm and
// /dev/mqueue are rw, the devices work, nothing can be made in /dev.
func TestReadonlyDevKeepsSubmounts(t *testing.T) { forRunners(t, testReadonlyDevKeepsSubmounts) }

func testReadonlyDevKeepsSubmounts(t *testing.T, e *env) {
	script := `for m in /dev /dev/pts /dev/shm /dev/mqueue; do awk -v m=$m '$2 == m { split($4, o, ","); print m, o[1] }' /proc/mounts; done
echo x > /dev/null && test -c /dev/zero && echo devices
touch /dev/made 2>/dev/null || echo refused
echo ok > /dev/shm/ok && cat /dev/shm/ok`
	run := func(e *env, id string) result {
		t.Helper()
		b := e.bundle([]string{"sh", "-c", script}, func(s *specs.Spec) {
			for i := range s.Mounts {
				if s.Mounts[i].Destination == "/dev" {
					s.Mounts[i].Options = append(s.Mounts[i].Options, "ro")
				}
			}
		})
		return e.run("run", "--bundle", b, id)
	}
	want := "/dev ro\n/dev/pts rw\n/dev/shm rw\n/dev/mqueue rw\ndevices\nrefused\nok\n"
	if r := run(e, "rodev"); r.code != 0 || r.stdout != want {
		t.Errorf("hako: %s, want stdout %q", r, want)
	}
	if rc := e.runc(t); rc != nil && e.runner == "" {
		if r := run(rc, "rodev"); r.code != 0 || r.stdout != want {
			t.Errorf("runc: %s, want stdout %q", r, want)
		}
	}
}

// Bind mount flags as runc 1.5 applies them (libcontainer/rootfs_linux.go,
// "mount --bind -o" emulation): options that name no flag keep the source
// mount's; options that name some give the bind exactly those, clearing
// the others where the source's mount allows it (as root, no user
// namespace); in a user namespace, whose inherited mounts' flags the
// kernel locks, the source's flags are kept, and clearing one is refused
// with an error naming the mount and the flag. Debian's runc 1.1.5 agrees
// on the first two cases (it predates the locked-flag rules).
func TestBindFlagsLikeRunc(t *testing.T) { forRunners(t, testBindFlagsLikeRunc) }

func testBindFlagsLikeRunc(t *testing.T, e *env) {
	src := t.TempDir()
	if err := unix.Mount("tmpfs", src, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755"); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(src, unix.MNT_DETACH)
	flagsOf := `awk '$2 == "/b" { n = split($4, o, ","); s = ""; for (i = 1; i <= n; i++) if (o[i] ~ /^(ro|rw|nosuid|nodev|noexec)$/) s = s " " o[i]; print substr(s, 2) }' /proc/mounts`
	run := func(e *env, id string, opts []string, userns bool) result {
		t.Helper()
		b := e.bundle([]string{"sh", "-c", flagsOf}, func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/b", Type: "bind", Source: src, Options: opts})
		})
		if userns {
			remap(t, b)
		}
		return e.run("run", "--bundle", b, id)
	}
	type tc struct {
		name    string
		opts    []string
		userns  bool
		want    string // stdout, or the flag the error names
		fails   bool
		runcToo bool // runc 1.1.5 does the same
	}
	for _, c := range []tc{
		{"none named", []string{"rbind"}, false, "rw nosuid nodev noexec\n", false, true},
		{"exactly those named", []string{"bind", "ro"}, false, "ro\n", false, true},
		{"cleared", []string{"bind", "suid", "dev", "exec"}, false, "rw\n", false, false},
		{"locked kept", []string{"bind", "ro"}, true, "ro nosuid nodev noexec\n", false, false},
		{"locked cleared", []string{"bind", "suid"}, true, "nosuid", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.on(t)
			r := run(e, "bindflags", c.opts, c.userns)
			if rc := e.runc(t); rc != nil && c.runcToo && e.runner == "" {
				if r := run(rc, "bindflags", c.opts, c.userns); r.code != 0 || r.stdout != c.want {
					t.Errorf("runc, %v: %s, want %q", c.opts, r, c.want)
				}
			}
			if c.fails {
				if r.code == 0 || !strings.Contains(r.stderr, "mounts[") || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "locked") {
					t.Errorf("%v in a user namespace: %s, want it refused naming the mount and the locked %s", c.opts, r, c.want)
				}
				return
			}
			if r.code != 0 || r.stdout != c.want {
				t.Errorf("%v: %s, want %q", c.opts, r, c.want)
			}
		})
	}
}
