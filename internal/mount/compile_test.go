package mount

// Unit tests of the compiler: a Config in, the program's ops out (through
// sysprog's Ops), no root needed. They pin what the runtime tests cannot
// see directly: how every path is resolved, which system calls take paths
// at all, and the order of the steps.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/spec"
	"github.com/hako-dev/hako/internal/stage"
	"github.com/hako-dev/hako/internal/sysprog"
)

const fdcwd = ^uintptr(99) // AT_FDCWD as an argument

// compileOps compiles c (with a rootfs made for it when c.Rootfs is "")
// and returns the program's ops.
func compileOps(t *testing.T, c *Config) []sysprog.OpInfo {
	t.Helper()
	p, err := compileProgram(t, c)
	if err != nil {
		t.Fatal(err)
	}
	return p.Ops()
}

func compileProgram(t *testing.T, c *Config) (*sysprog.Program, error) {
	t.Helper()
	if c.Rootfs == "" {
		c.Rootfs = filepath.Join(t.TempDir(), "rootfs")
		if err := os.Mkdir(c.Rootfs, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := sysprog.New(100)
	return p, Compile(c, p, Stages{})
}

// dump is the program, one op a line, for failure messages.
func dump(ops []sysprog.OpInfo) string {
	var b strings.Builder
	for i, o := range ops {
		fmt.Fprintf(&b, "\n%4d: %s", i, o)
	}
	return b.String()
}

func str(o sysprog.OpInfo, i int) string {
	s, _ := o.Args[i].Str()
	return s
}

// word is the i'th 64-bit word of the struct memory argument a points at.
func word(o sysprog.OpInfo, a, i int) uint64 {
	m := o.Args[a].Mem
	if len(m) < 8*(i+1) {
		return 0
	}
	return binary.NativeEndian.Uint64(m[8*i:])
}

// openHow is openat2's open_how of o: flags and resolve.
func openHow(o sysprog.OpInfo) (flags, resolve uint64) { return word(o, 2, 0), word(o, 2, 2) }

// mountAttr is mount_setattr's attributes of o: set, clear, propagation.
func mountAttr(o sysprog.OpInfo) (set, clr, prop uint64) {
	return word(o, 3, 0), word(o, 3, 1), word(o, 3, 2)
}

func isImm(a sysprog.ArgInfo, v uintptr) bool { return a.Kind == 'i' && a.Val == v }
func isReg(a sysprog.ArgInfo, r sysprog.Reg) bool {
	return a.Kind == 'r' && a.Val == uintptr(r)
}

// find is the index of the first op at or after from that matches, -1
// for none.
func find(ops []sysprog.OpInfo, from int, match func(o sysprog.OpInfo) bool) int {
	for i := from; i < len(ops); i++ {
		if match(ops[i]) {
			return i
		}
	}
	return -1
}

func named(name string) func(o sysprog.OpInfo) bool {
	return func(o sysprog.OpInfo) bool { return o.Name == name }
}

// richConfig has a bit of everything that resolves a path in the rootfs:
// `hako spec`'s mounts, masked and read-only paths, binds of a directory
// and a file, a bind over /proc/cpuinfo, devices.
func richConfig(t *testing.T) *Config {
	s := spec.Default()
	host := t.TempDir()
	file := filepath.Join(host, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	uid := uint32(7)
	dev := specs.LinuxDevice{Path: "/dev/net/tun", Type: "c", Major: 10, Minor: 200, UID: &uid}
	if _, err := os.Stat(dev.Path); err != nil {
		dev = specs.LinuxDevice{Path: "/dev/net/fifo", Type: "p", UID: &uid} // a user namespace binds the host's node
	}
	return &Config{
		Readonly: true, CgroupNS: true,
		Mounts: append(slices.Clone(s.Mounts),
			specs.Mount{Destination: "/data/deep", Type: "bind", Source: host, Options: []string{"rbind", "ro"}},
			specs.Mount{Destination: "etc/file", Source: file, Options: []string{"bind"}},
			specs.Mount{Destination: "/proc/cpuinfo", Type: "bind", Source: "/proc/cpuinfo"},
			specs.Mount{Destination: "/sys/kernel/x", Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/run/slave", Type: "tmpfs", Source: "tmpfs", Options: []string{"rslave", "rro"}}),
		Devices:       []specs.LinuxDevice{dev},
		MaskedPaths:   s.Linux.MaskedPaths,
		ReadonlyPaths: s.Linux.ReadonlyPaths,
	}
}

// TestCompileResolvesInRoot: before the root changes, every path of the
// container is resolved by openat2 from the rootfs' fd with
// RESOLVE_IN_ROOT (RESOLVE_NO_SYMLINKS too below /proc and /sys), and
// every other call that takes a path takes one component relative to an
// fd so resolved; mounts are attached with move_mount on fds. The only
// absolute paths are the host's: the rootfs itself and bind sources.
func TestCompileResolvesInRoot(t *testing.T) {
	for _, userns := range []bool{false, true} {
		c := richConfig(t)
		c.InUserNS = userns
		ops := compileOps(t, c)
		hostPaths := map[string]bool{c.Rootfs: true, "/sys": userns}
		for _, m := range c.Mounts {
			if m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind") {
				hostPaths[m.Source] = true
			}
		}
		for _, d := range defaultDevices {
			hostPaths[d.Path] = userns
		}
		hostPaths[c.Devices[0].Path] = userns
		// RefuseSame (PID 1's mount namespace), propagation, the rootfs'
		// bind, its open.
		if len(ops) < 4 || ops[0].Name != "RefuseSame" || ops[3].Name != "openat" || !isImm(ops[3].Args[0], fdcwd) || str(ops[3], 1) != c.Rootfs || ops[3].Out == 0 {
			t.Fatalf("op 3 is not the rootfs' open:%s", dump(ops))
		}
		root := ops[3].Out
		end := find(ops, 4, func(o sysprog.OpInfo) bool { return o.Name == "openat" && isImm(o.Args[0], fdcwd) && str(o, 1) == "/" })
		if end < 0 || ops[end+1].Name != "fchdir" || !isReg(ops[end+1].Args[0], root) || ops[end+2].Name != "pivot_root" {
			t.Fatalf("no pivot_root from the rootfs' fd:%s", dump(ops))
		}
		resolved := map[sysprog.Reg]string{} // registers holding an fd resolved in the root
		for i := 4; i < end; i++ {
			o := ops[i]
			bad := func(why string) { t.Errorf("userns %v: op %d %s: %s", userns, i, o, why) }
			switch o.Name {
			case "openat2":
				flags, res := openHow(o)
				p := str(o, 1)
				if !isReg(o.Args[0], root) {
					bad("not from the rootfs' fd")
				}
				if res&unix.RESOLVE_IN_ROOT == 0 || res&unix.RESOLVE_NO_MAGICLINKS == 0 {
					bad("without RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS")
				}
				if t := topDir(cleanDest(p)); (t == "/proc" || t == "/sys") && res&unix.RESOLVE_NO_SYMLINKS == 0 {
					bad("below /proc or /sys without RESOLVE_NO_SYMLINKS")
				}
				if strings.HasPrefix(p, "/") || strings.Contains("/"+p+"/", "/../") {
					bad("an absolute or dotted path")
				}
				if flags&unix.O_CLOEXEC == 0 {
					bad("without O_CLOEXEC")
				}
				resolved[o.Out] = p
			case "openat":
				if o.Args[0].Kind != 'r' || strings.Contains(str(o, 1), "/") || o.Args[2].Val&unix.O_NOFOLLOW == 0 {
					bad("not one component, O_NOFOLLOW, relative to an fd")
				}
				resolved[o.Out] = str(o, 1)
			case "mkdirat", "mknodat", "unlinkat", "fchownat", "symlinkat":
				dir, name := 0, 1
				if o.Name == "symlinkat" {
					dir, name = 1, 2
				}
				if o.Args[dir].Kind != 'r' || strings.Contains(str(o, name), "/") || str(o, name) == ".." {
					bad("not one component relative to an fd")
				} else if _, ok := resolved[sysprog.Reg(o.Args[dir].Val)]; !ok {
					bad("relative to an fd not resolved in the root")
				}
				if o.Name == "fchownat" && o.Args[4].Val&unix.AT_SYMLINK_NOFOLLOW == 0 {
					bad("fchownat follows symlinks")
				}
			case "open_tree":
				if isImm(o.Args[0], fdcwd) && !hostPaths[str(o, 1)] {
					bad("an absolute path that is not a host source of the configuration")
				}
			case "move_mount":
				if o.Args[0].Kind != 'r' || o.Args[2].Kind != 'r' || str(o, 1) != "" || str(o, 3) != "" ||
					o.Args[4].Val != unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH {
					bad("not from fd to fd")
				} else if _, ok := resolved[sysprog.Reg(o.Args[2].Val)]; !ok {
					bad("onto an fd not resolved in the root")
				}
			case "mount_setattr":
				if o.Args[0].Kind != 'r' || str(o, 1) != "" {
					bad("not on an fd")
				}
			case "mount", "umount2", "chroot", "chdir", "pivot_root", "Mask", "execveat", "Stage":
				bad("a path-based call before the root changed")
			}
		}
		// Every destination is resolved so, and something moved onto it.
		for i, m := range c.Mounts {
			dest := rel(cleanDest(m.Destination))
			ok := false
			for j := 3; j < end && !ok; j++ {
				o := ops[j]
				if o.Name == "openat2" && str(o, 1) == dest {
					ok = find(ops[:end], j, func(m sysprog.OpInfo) bool { return m.Name == "move_mount" && isReg(m.Args[2], o.Out) }) > 0
				}
			}
			if !ok {
				t.Errorf("userns %v: mounts[%d] (%s): nothing moved onto it through openat2:%s", userns, i, dest, dump(ops))
			}
		}
	}
}

// mounts lists the program's path-based mount(2) calls: source, target,
// flags.
func mounts(ops []sysprog.OpInfo) []string {
	var out []string
	for _, o := range ops {
		if o.Name == "mount" {
			out = append(out, str(o, 0)+" "+str(o, 1)+" "+itoa64(o.Args[3].Val))
		}
	}
	return out
}

func itoa64(v uintptr) string { return fmt.Sprintf("%#x", v) }

// TestCompileMountCalls: the only path-based mount(2) calls are the
// documented ones: "/" made private (a slave when the root is to
// propagate), the rootfs bound onto itself, the old root made a slave
// after pivot_root (with --no-pivot: the rootfs moved onto "/", then
// chroot), and the root's configured propagation.
func TestCompileMountCalls(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want func(rootfs string) []string
	}{
		{"default", *richConfig(t), func(r string) []string {
			return []string{" / " + itoa64(unix.MS_REC|unix.MS_PRIVATE), r + " " + r + " " + itoa64(unix.MS_BIND|unix.MS_REC),
				" . " + itoa64(unix.MS_SLAVE|unix.MS_REC)}
		}},
		{"rshared", Config{Propagation: "rshared"}, func(r string) []string {
			return []string{" / " + itoa64(unix.MS_REC|unix.MS_SLAVE), r + " " + r + " " + itoa64(unix.MS_BIND|unix.MS_REC),
				" . " + itoa64(unix.MS_SLAVE|unix.MS_REC), " / " + itoa64(unix.MS_REC|unix.MS_SHARED)}
		}},
		{"no-pivot", Config{NoPivot: true}, func(r string) []string {
			return []string{" / " + itoa64(unix.MS_REC|unix.MS_PRIVATE), r + " " + r + " " + itoa64(unix.MS_BIND|unix.MS_REC),
				". / " + itoa64(unix.MS_MOVE)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops := compileOps(t, &tc.c)
			if got, want := mounts(ops), tc.want(tc.c.Rootfs); !slices.Equal(got, want) {
				t.Errorf("mount(2) calls %q, want %q:%s", got, want, dump(ops))
			}
			pivot := find(ops, 0, named("pivot_root"))
			chroot := find(ops, 0, named("chroot"))
			if tc.c.NoPivot {
				move := find(ops, 0, func(o sysprog.OpInfo) bool { return o.Name == "mount" && o.Args[3].Val == unix.MS_MOVE })
				if pivot >= 0 || chroot < move || str(ops[chroot], 0) != "." || ops[chroot+1].Name != "chdir" || str(ops[chroot+1], 0) != "/" {
					t.Errorf("--no-pivot: want MS_MOVE, chroot(\".\"), chdir(\"/\") and no pivot_root:%s", dump(ops))
				}
				return
			}
			if pivot < 0 || chroot >= 0 || str(ops[pivot], 0) != "." || str(ops[pivot], 1) != "." {
				t.Fatalf("want pivot_root(\".\", \".\") and no chroot:%s", dump(ops))
			}
			// The old root: a slave, then detached, then left.
			um := find(ops, pivot, named("umount2"))
			slave := find(ops, pivot, named("mount"))
			if um < 0 || slave < 0 || slave > um || str(ops[um], 0) != "." || ops[um].Args[1].Val != unix.MNT_DETACH ||
				ops[um+1].Name != "chdir" || str(ops[um+1], 0) != "/" {
				t.Errorf("the old root is not made a slave, detached and left:%s", dump(ops))
			}
		})
	}
}

// TestCompileFinishOrder: masks and read-only paths come after
// pivot_root, on the container's own paths, masks only after /dev/null
// was checked to be the null device, and a read-only root last.
func TestCompileFinishOrder(t *testing.T) {
	c := richConfig(t)
	ops := compileOps(t, c)
	pivot := find(ops, 0, named("pivot_root"))
	if pivot < 0 {
		t.Fatalf("no pivot_root:%s", dump(ops))
	}
	check := find(ops, 0, named("CheckNull"))
	null := find(ops, 0, func(o sysprog.OpInfo) bool { return o.Name == "openat" && str(o, 1) == "/dev/null" })
	if null < pivot || check < null || !isReg(ops[check].Args[0], ops[null].Out) {
		t.Errorf("/dev/null is not opened and checked after pivot_root:%s", dump(ops))
	}
	var masked []string
	for i, o := range ops {
		if o.Name != "Mask" {
			continue
		}
		if i < check || !isReg(o.Args[1], ops[null].Out) {
			t.Errorf("op %d %s: before the null device's check, or with another fd", i, o)
		}
		masked = append(masked, str(o, 0))
	}
	if !slices.Equal(masked, c.MaskedPaths) {
		t.Errorf("masked %q, want %q", masked, c.MaskedPaths)
	}
	var ro []string
	for i, o := range ops {
		if o.Name == "open_tree" && i > pivot {
			if o.Args[2].Val&unix.AT_RECURSIVE == 0 {
				t.Errorf("op %d %s: a read-only path not recursive", i, o)
			}
			setattr := find(ops, i, named("mount_setattr"))
			if set, _, _ := mountAttr(ops[setattr]); set != unix.MOUNT_ATTR_RDONLY || ops[setattr].Args[2].Val&unix.AT_RECURSIVE == 0 {
				t.Errorf("op %d %s: not made read-only recursively", setattr, ops[setattr])
			}
			ro = append(ro, str(o, 1))
		}
	}
	if !slices.Equal(ro, c.ReadonlyPaths) {
		t.Errorf("read-only paths %q, want %q:%s", ro, c.ReadonlyPaths, dump(ops))
	}
	last := ops[len(ops)-1]
	if set, clr, _ := mountAttr(last); last.Name != "mount_setattr" || !isImm(last.Args[0], fdcwd) || str(last, 1) != "/" ||
		last.Args[2].Val != 0 || set != unix.MOUNT_ATTR_RDONLY || clr != 0 {
		t.Errorf("the last op is %s, want the root made read-only", last)
	}
	c.Readonly = false
	ops = compileOps(t, c)
	for _, o := range ops {
		if o.Name == "mount_setattr" && isImm(o.Args[0], fdcwd) {
			t.Errorf("root.readonly false: %s", o)
		}
	}
}

// TestCompileTmpCopyUp: tmpcopyup is the Go runner's CopyUp stage, given
// the image's directory (opened before the tmpfs covers it, resolved in
// the root) and the new tmpfs while it is still detached.
func TestCompileTmpCopyUp(t *testing.T) {
	p, err := compileProgram(t, &Config{Mounts: []specs.Mount{
		{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "ro"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.NeedsGo(), "tmpcopyup (mounts[0])") {
		t.Errorf("NeedsGo %q", p.NeedsGo())
	}
	ops := p.Ops()
	st := find(ops, 0, named("Stage"))
	if st < 0 || !isImm(ops[st].Args[0], stage.CopyUp) || !isImm(ops[st].Args[3], 0) {
		t.Fatalf("no CopyUp stage for mounts[0]:%s", dump(ops))
	}
	from := find(ops, 0, func(o sysprog.OpInfo) bool { return isReg(ops[st].Args[1], o.Out) && o.Out != 0 })
	to := find(ops, 0, func(o sysprog.OpInfo) bool { return isReg(ops[st].Args[2], o.Out) && o.Out != 0 })
	if from < 0 || ops[from].Name != "openat2" || str(ops[from], 1) != "etc" {
		t.Fatalf("the stage's source is not the image's /etc:%s", dump(ops))
	}
	if flags, res := openHow(ops[from]); flags&unix.O_PATH != 0 || flags&unix.O_DIRECTORY == 0 || res&unix.RESOLVE_IN_ROOT == 0 {
		t.Errorf("the source %s: flags %#x resolve %#x", ops[from], flags, res)
	}
	if to < 0 || ops[to].Name != "fsmount" || to < from {
		t.Fatalf("the stage's target is not a new tmpfs made after the source was opened:%s", dump(ops))
	}
	if ops[to].Args[2].Val&unix.MOUNT_ATTR_RDONLY != 0 {
		t.Error("the tmpfs is read-only while it is filled")
	}
	ro := find(ops, st, func(o sysprog.OpInfo) bool { return o.Name == "mount_setattr" && isReg(o.Args[0], ops[to].Out) })
	move := find(ops, st, func(o sysprog.OpInfo) bool { return o.Name == "move_mount" && isReg(o.Args[0], ops[to].Out) })
	if ro < 0 || move < ro {
		t.Errorf("the filled tmpfs is not made read-only, then attached:%s", dump(ops))
	}
	if set, _, _ := mountAttr(ops[ro]); set != unix.MOUNT_ATTR_RDONLY {
		t.Errorf("%s", ops[ro])
	}
}

// TestCompileRemount: the remount option changes the mount at the
// destination: its mount flags with mount_setattr, its superblock with
// fspick and FSCONFIG_CMD_RECONFIGURE, never mount(MS_REMOUNT).
func TestCompileRemount(t *testing.T) {
	ops := compileOps(t, &Config{Mounts: []specs.Mount{
		{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"remount", "ro", "nosuid", "sync", "size=1m"}},
	}})
	open := find(ops, 0, func(o sysprog.OpInfo) bool { return o.Name == "openat2" && str(o, 1) == "run" && o.Out != 0 })
	if open < 0 {
		t.Fatalf("the destination is not resolved:%s", dump(ops))
	}
	r := ops[open].Out
	setattr := find(ops, open, func(o sysprog.OpInfo) bool { return o.Name == "mount_setattr" && isReg(o.Args[0], r) })
	if set, clr, _ := mountAttr(ops[setattr]); setattr < 0 || set != unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID || clr != 0 {
		t.Errorf("mount flags: %s:%s", ops[setattr], dump(ops))
	}
	pick := find(ops, open, func(o sysprog.OpInfo) bool { return o.Name == "fspick" && isReg(o.Args[0], r) })
	if pick < 0 || ops[pick].Args[2].Val&unix.FSPICK_EMPTY_PATH == 0 {
		t.Fatalf("no fspick of the destination:%s", dump(ops))
	}
	var cfg []string
	for _, o := range ops[pick+1:] {
		if o.Name == "fsconfig" && isReg(o.Args[0], ops[pick].Out) {
			cfg = append(cfg, itoa64(o.Args[1].Val)+" "+str(o, 2)+" "+str(o, 3))
		}
	}
	want := []string{itoa64(unix.FSCONFIG_SET_FLAG) + " sync ", itoa64(unix.FSCONFIG_SET_STRING) + " size 1m", itoa64(unix.FSCONFIG_CMD_RECONFIGURE) + "  "}
	if !slices.Equal(cfg, want) {
		t.Errorf("fsconfig calls %q, want %q", cfg, want)
	}
	for _, o := range ops {
		if o.Name == "mount" && o.Args[3].Val&unix.MS_REMOUNT != 0 || o.Name == "fsopen" {
			t.Errorf("%s: a remount makes no new mount and never calls mount(MS_REMOUNT)", o)
		}
	}
}

// Bind flags as runc 1.5 sets them: options that name flags give the bind
// exactly those (the others of ro, nosuid, nodev, noexec cleared, atime
// kept unless named); in a user namespace the source mount's lockable
// flags are kept, and clearing one of them, or changing its atime, is
// refused by name. The source's flags are read here with statfs.
func TestCompileBindFlagsLikeRunc(t *testing.T) {
	src := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(src, &st); err != nil {
		t.Fatal(err)
	}
	var srcAttr uint64 // the source's ro/nosuid/nodev/noexec as MOUNT_ATTR_*
	for stf, a := range map[int64]uint64{unix.ST_RDONLY: unix.MOUNT_ATTR_RDONLY, unix.ST_NOSUID: unix.MOUNT_ATTR_NOSUID, unix.ST_NODEV: unix.MOUNT_ATTR_NODEV, unix.ST_NOEXEC: unix.MOUNT_ATTR_NOEXEC} {
		if int64(st.Flags)&stf != 0 {
			srcAttr |= a
		}
	}
	const four = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC
	atime := "noatime"
	if int64(st.Flags)&unix.ST_NOATIME != 0 {
		atime = "strictatime"
	}
	for _, tc := range []struct {
		opts     []string
		userns   bool
		set, clr uint64
		err      string
	}{
		{opts: []string{"bind"}, userns: true},
		{opts: []string{"bind", "ro"}, set: unix.MOUNT_ATTR_RDONLY, clr: four &^ unix.MOUNT_ATTR_RDONLY},
		{opts: []string{"bind", "ro", "exec", "noatime"}, set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOATIME, clr: four&^unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR__ATIME},
		{opts: []string{"bind", "ro"}, userns: true, set: unix.MOUNT_ATTR_RDONLY | srcAttr, clr: four &^ (unix.MOUNT_ATTR_RDONLY | srcAttr)},
		{opts: []string{"rbind", "rw", "suid"}, userns: srcAttr&(unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID) == 0, set: 0, clr: four},
		{opts: []string{"bind", atime}, userns: true, err: "cannot change the locked atime flag"},
	} {
		c := &Config{InUserNS: tc.userns, Mounts: []specs.Mount{{Destination: "/data", Source: src, Options: tc.opts}}}
		if tc.err != "" {
			if _, err := compileProgram(t, c); err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "mounts[0]") {
				t.Errorf("%q in a user namespace: %v, want an error naming mounts[0] and %q", tc.opts, err, tc.err)
			}
			continue
		}
		ops := compileOps(t, c)
		tree := find(ops, 0, func(o sysprog.OpInfo) bool { return o.Name == "open_tree" && str(o, 1) == src })
		if tree < 0 {
			t.Fatalf("%q: no open_tree of the source:%s", tc.opts, dump(ops))
		}
		var got []string
		for _, o := range ops {
			if o.Name == "mount_setattr" && isReg(o.Args[0], ops[tree].Out) {
				set, clr, _ := mountAttr(o)
				got = append(got, itoa64(uintptr(set))+"/"+itoa64(uintptr(clr)))
			}
		}
		want := []string{itoa64(uintptr(tc.set)) + "/" + itoa64(uintptr(tc.clr))}
		if tc.set == 0 && tc.clr == 0 {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q (user namespace %v): mount_setattr set/clear %q, want %q", tc.opts, tc.userns, got, want)
		}
	}
}

// In a user namespace, clearing a flag the source's mount has (locked
// there) is refused with the flag and the option named.
func TestCompileBindRefusesClearingLockedFlags(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounts a tmpfs: needs root")
	}
	src := t.TempDir()
	if err := unix.Mount("tmpfs", src, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		t.Skip("cannot mount a tmpfs here:", err)
	}
	defer unix.Unmount(src, unix.MNT_DETACH)
	_, err := compileProgram(t, &Config{InUserNS: true, Mounts: []specs.Mount{{Destination: "/data", Source: src, Options: []string{"bind", "dev", "ro"}}}})
	if err == nil || !strings.Contains(err.Error(), "cannot clear the locked flags nodev") || !strings.Contains(err.Error(), `"dev"`) {
		t.Errorf("clearing a locked nodev: %v", err)
	}
	if _, err := compileProgram(t, &Config{Mounts: []specs.Mount{{Destination: "/data", Source: src, Options: []string{"bind", "dev", "ro"}}}}); err != nil {
		t.Errorf("clearing nodev outside a user namespace: %v", err)
	}
}

// TestCompileDevices: devices are made relative to their directory, which
// is resolved in the root; in a user namespace, where mknod is refused, a
// device is the host's node bound (open_tree) over an empty file, never
// a node made with mknod; a fifo is made either way.
func TestCompileDevices(t *testing.T) {
	for _, userns := range []bool{false, true} {
		ops := compileOps(t, &Config{InUserNS: userns, Devices: []specs.LinuxDevice{{Path: "/dev/fifo", Type: "p"}}})
		nodes := map[string]uint64{} // name -> mode
		for _, o := range ops {
			if o.Name == "mknodat" {
				nodes[str(o, 1)] = uint64(o.Args[2].Val)
			}
		}
		for _, d := range defaultDevices {
			name := strings.TrimPrefix(d.Path, "/dev/")
			tree := find(ops, 0, func(o sysprog.OpInfo) bool { return o.Name == "open_tree" && str(o, 1) == d.Path })
			if userns {
				if nodes[name] != unix.S_IFREG|0o644 || tree < 0 {
					t.Errorf("userns: %s: mknod mode %#o, open_tree at %d; want a bind of the host's node over an empty file", d.Path, nodes[name], tree)
				}
				continue
			}
			if nodes[name] != unix.S_IFCHR|0o666 || tree >= 0 {
				t.Errorf("%s: mknod mode %#o, open_tree at %d; want a character device", d.Path, nodes[name], tree)
			}
		}
		if nodes["fifo"] != unix.S_IFIFO|0o666 {
			t.Errorf("userns %v: the fifo's mode %#o", userns, nodes["fifo"])
		}
		if userns {
			for name, mode := range nodes {
				if mode&unix.S_IFMT == unix.S_IFCHR || mode&unix.S_IFMT == unix.S_IFBLK {
					t.Errorf("userns: mknod of the device %s", name)
				}
			}
		}
	}
	// A host node that is not a device is refused in the parent.
	_, err := compileProgram(t, &Config{InUserNS: true, Devices: []specs.LinuxDevice{{Path: "/dev/shm", Type: "c", Major: 1, Minor: 3}}})
	var me *Error
	if !errors.As(err, &me) || me.Field != "linux.devices[0]" || !errors.Is(err, unix.ENODEV) {
		t.Errorf("a directory as a host device: %v", err)
	}
}

// TestCompileSysfsInUserNS: a user namespace that does not own the
// network namespace may not mount sysfs: the host's /sys is bound,
// recursively and read-only, nosuid, nodev, noexec.
func TestCompileSysfsInUserNS(t *testing.T) {
	for _, own := range []bool{false, true} {
		ops := compileOps(t, &Config{InUserNS: true, OwnNetNS: own, Mounts: []specs.Mount{{Destination: "/sys", Type: "sysfs", Source: "sysfs"}}})
		tree := find(ops, 0, func(o sysprog.OpInfo) bool { return o.Name == "open_tree" && str(o, 1) == "/sys" })
		fs := find(ops, 0, func(o sysprog.OpInfo) bool { return o.Name == "fsopen" && str(o, 0) == "sysfs" })
		if own {
			if fs < 0 || tree >= 0 {
				t.Errorf("own netns: want a new sysfs:%s", dump(ops))
			}
			continue
		}
		if tree < 0 || fs >= 0 || ops[tree].Args[2].Val&unix.AT_RECURSIVE == 0 {
			t.Fatalf("want a recursive bind of the host's /sys:%s", dump(ops))
		}
		setattr := find(ops, tree, named("mount_setattr"))
		want := uint64(unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC)
		if set, clr, _ := mountAttr(ops[setattr]); set != want || clr&unix.MOUNT_ATTR_RDONLY != 0 {
			t.Errorf("%s: want set %#x", ops[setattr], want)
		}
	}
}

// TestCompileCgroupMount: without a cgroup namespace the "cgroup" mount
// shows the process's own cgroups, bound (open_tree) from the host's
// cgroup directories, never a fresh mount of a hierarchy (which would
// show the host's whole tree); with one, each hierarchy is a new mount.
func TestCompileCgroupMount(t *testing.T) {
	typ := "cgroup"
	if cgroup2Only() {
		typ = "cgroup2"
	}
	for _, cgns := range []bool{false, true} {
		ops := compileOps(t, &Config{CgroupNS: cgns, Mounts: []specs.Mount{
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro"}},
		}})
		var binds, fresh []string
		for _, o := range ops {
			switch {
			case o.Name == "open_tree":
				binds = append(binds, str(o, 1))
			case o.Name == "fsopen" && (str(o, 0) == "cgroup" || str(o, 0) == "cgroup2"):
				fresh = append(fresh, str(o, 0))
			}
		}
		if cgns {
			if len(binds) != 0 || len(fresh) == 0 || !slices.Contains(fresh, typ) {
				t.Errorf("cgroupns: binds %q, new mounts %q; want new %s mounts only", binds, fresh, typ)
			}
			continue
		}
		if len(fresh) != 0 || len(binds) == 0 {
			t.Fatalf("no cgroupns: binds %q, new mounts %q; want binds only:%s", binds, fresh, dump(ops))
		}
		self, _ := os.ReadFile("/proc/self/cgroup")
		for _, b := range binds {
			if !strings.HasPrefix(b, "/sys/fs/cgroup/") {
				t.Errorf("bound %s, not a host cgroup directory", b)
			}
			if st, err := os.Stat(b); err != nil || !st.IsDir() {
				t.Errorf("bound %s: %v", b, err)
			}
		}
		if typ == "cgroup" {
			// One per hierarchy the host mounts, the process's own
			// cgroup in it.
			want := 0
			for _, h := range planCgroupsForTest(t, self) {
				if h.hostPath != "" {
					want++
					if !slices.Contains(binds, h.hostPath) {
						t.Errorf("hierarchy %s: %s is not bound", h.dir, h.hostPath)
					}
				}
			}
			if len(binds) != want {
				t.Errorf("binds %q, want %d", binds, want)
			}
		}
	}
}

func planCgroupsForTest(t *testing.T, self []byte) []hierarchy {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		t.Fatal(err)
	}
	return planCgroups(self, ms)
}

// TestResolutionStaysInRoot runs the compiler's path resolution (no root
// needed: no mounts) on both runners: a symlink of the image leading out
// of the root, relative or absolute, is followed inside it, where the
// directories and files are made; a symlink on the way to /proc or /sys
// is refused with ELOOP.
func TestResolutionStaysInRoot(t *testing.T) {
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			dir := t.TempDir()
			rootfs, outside := filepath.Join(dir, "rootfs"), filepath.Join(dir, "outside")
			for _, d := range []string{rootfs + "/outside", rootfs + outside, rootfs + "/etc", outside} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for link, to := range map[string]string{"up": "../outside", "abs": outside, "proc": "etc"} {
				if err := os.Symlink(to, filepath.Join(rootfs, link)); err != nil {
					t.Fatal(err)
				}
			}
			failed := errors.New("the op failed")
			var errno syscall.Errno
			fail := func(e syscall.Errno) error { errno = e; return failed }
			build := func(p *sysprog.Program) error {
				k := &compiler{c: &Config{Rootfs: rootfs}, p: p}
				k.root = p.Result(nil, unix.SYS_OPENAT, sysprog.Imm(fdcwd), p.Str(rootfs), sysprog.Imm(unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC), sysprog.Imm(0))
				k.mkdirAll(nil, "/up/new", false)
				k.mkdirAll(nil, "/up/file", true)
				k.mkdirAll(nil, "/abs/deeper/new", false)
				k.open(fail, "/proc/sys", unix.O_DIRECTORY)
				return nil
			}
			res, err := runScenario(scenario{Runner: runner, build: build})
			if err != nil {
				t.Fatal(err)
			}
			if res.Err != failed.Error() || errno != unix.ELOOP {
				t.Errorf("open of /proc/sys through a symlinked /proc: %q (%v), want ELOOP", res.Err, errno)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("the host directory %s got %d entries through the image's symlinks", outside, len(ents))
			}
			for _, p := range []string{"outside/new", "outside/file", strings.TrimPrefix(outside, "/") + "/deeper/new"} {
				if _, err := os.Lstat(filepath.Join(rootfs, p)); err != nil {
					t.Errorf("want %s made inside the root: %v", p, err)
				}
			}
			if st, err := os.Lstat(filepath.Join(rootfs, "outside/file")); err != nil || !st.Mode().IsRegular() {
				t.Errorf("outside/file: %v %v, want a regular file", st, err)
			}
		})
	}
}
