package mount

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// hierarchy is one cgroup hierarchy to show below a "cgroup" mount.
type hierarchy struct {
	dir      string   // its name below the mount: "memory", "cpu,cpuacct", "systemd", "unified"
	fstype   string   // "cgroup" (v1) or "cgroup2"
	options  string   // mount data for a fresh mount in a cgroup namespace: "memory", "name=systemd"
	hostPath string   // the process's own cgroup directory on the host; "" when the host has no mount of it
	links    []string // co-mounted controllers, each a symlink to dir (cpu -> cpu,cpuacct)
}

// planCgroups reads /proc/self/cgroup (procCgroup) against the host's cgroup
// mounts and lists the hierarchies to show, v1 ones first, then the v2
// (unified) one when the host mounts it.
func planCgroups(procCgroup []byte, mounts []*mountinfo.Info) []hierarchy {
	var hs []hierarchy
	var unified *hierarchy
	sc := bufio.NewScanner(bytes.NewReader(procCgroup))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, cgPath := parts[1], parts[2]
		if ctrls == "" {
			if parts[0] != "0" {
				continue
			}
			h := hierarchy{dir: "unified", fstype: "cgroup2"}
			if m := findCgroupMount(mounts, "cgroup2", nil); m != nil {
				h.dir = path.Base(m.Mountpoint)
				h.hostPath = hostCgroupPath(m, cgPath)
				unified = &h
			}
			continue
		}
		want := strings.Split(ctrls, ",")
		h := hierarchy{dir: strings.TrimPrefix(ctrls, "name="), fstype: "cgroup", options: ctrls}
		if m := findCgroupMount(mounts, "cgroup", want); m != nil {
			h.dir = path.Base(m.Mountpoint)
			h.hostPath = hostCgroupPath(m, cgPath)
		}
		if strings.Contains(h.dir, ",") {
			for _, c := range strings.Split(h.dir, ",") {
				if c != "" && c != h.dir {
					h.links = append(h.links, c)
				}
			}
		}
		hs = append(hs, h)
	}
	if unified != nil {
		hs = append(hs, *unified)
	}
	return hs
}

// findCgroupMount finds the host mount of fstype whose superblock options
// hold every controller in want.
func findCgroupMount(mounts []*mountinfo.Info, fstype string, want []string) *mountinfo.Info {
next:
	for _, m := range mounts {
		if m.FSType != fstype {
			continue
		}
		have := map[string]bool{}
		for _, o := range strings.Split(m.VFSOptions, ",") {
			have[o] = true
		}
		for _, w := range want {
			if !have[w] {
				continue next
			}
		}
		return m
	}
	return nil
}

// hostCgroupPath is where cgroup cgPath of m's hierarchy appears on the
// host, or "" when m does not show it.
func hostCgroupPath(m *mountinfo.Info, cgPath string) string {
	rel := cgPath
	if m.Root != "/" {
		if cgPath != m.Root && !strings.HasPrefix(cgPath, m.Root+"/") {
			return ""
		}
		rel = strings.TrimPrefix(cgPath, m.Root)
	}
	return path.Join(m.Mountpoint, rel)
}

func cgroup2Only() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// cgroup performs a "cgroup" mount. On a cgroup v2 host it is cgroup2
// itself (or, without a cgroup namespace, a bind of the process's own
// cgroup). On a v1 or hybrid host it is a tmpfs holding one directory per
// hierarchy of /proc/self/cgroup, each a fresh mount of that hierarchy in a
// cgroup namespace or a bind of the process's own cgroup directory without
// one; "ro" applies to all of it.
func (e *entry) cgroup() error {
	procCgroup, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	if cgroup2Only() {
		return e.cgroup2(procCgroup)
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return err
	}
	if err := e.r.mkdirAll(e.dest); err != nil {
		return err
	}
	// The tmpfs stays writable until its directories and links exist.
	err = e.r.at(e.dest, func(t string, _ int) error {
		return unix.Mount("cgroup", t, "tmpfs", e.o.flags&^unix.MS_RDONLY, "mode=755")
	})
	if err != nil {
		return err
	}
	for _, h := range planCgroups(procCgroup, mounts) {
		if err := e.cgroupHierarchy(h); err != nil {
			return err
		}
	}
	if e.o.flags&unix.MS_RDONLY != 0 {
		return e.remount()
	}
	return nil
}

func (e *entry) cgroupHierarchy(h hierarchy) error {
	sub := &entry{c: e.c, r: e.r, index: e.index, m: e.m, dest: path.Join(e.dest, h.dir), typ: h.fstype,
		o: options{flags: e.o.flags &^ unix.MS_REMOUNT, clear: e.o.clear}}
	if e.c.CgroupNS {
		if err := e.r.mkdirAll(sub.dest); err != nil {
			return err
		}
		err := e.r.at(sub.dest, func(t string, _ int) error {
			return unix.Mount(h.fstype, t, h.fstype, sub.o.flags, h.options)
		})
		if err != nil {
			return reasonf(errnoOf(err), "mounting cgroup hierarchy %q at %s: %v", h.options, sub.dest, err)
		}
	} else {
		if h.hostPath == "" {
			return nil // the host does not mount it: nothing to show
		}
		sub.o.bind = true
		if err := sub.bindFrom(h.hostPath, true); err != nil {
			return reasonf(errnoOf(err), "binding %s at %s: %v", h.hostPath, sub.dest, err)
		}
	}
	if len(h.links) == 0 {
		return nil
	}
	dir, err := e.r.mkdirAllHandle(e.dest)
	if err != nil {
		return err
	}
	defer dir.Close()
	for _, l := range h.links {
		if err := unix.Symlinkat(h.dir, int(dir.Fd()), l); err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
	}
	return nil
}

// cgroup2 mounts a cgroup v2 hierarchy at the destination.
func (e *entry) cgroup2(procCgroup []byte) error {
	var err error
	if e.c.CgroupNS {
		if err := e.r.mkdirAll(e.dest); err != nil {
			return err
		}
		err = e.r.at(e.dest, func(t string, _ int) error {
			return unix.Mount("cgroup2", t, "cgroup2", e.o.flags, e.o.dataString())
		})
		if err == nil || !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EBUSY) {
			return err
		}
	}
	// Without a cgroup namespace (or where the kernel refuses a new
	// cgroup2 mount) show the process's own cgroup only.
	own := ""
	sc := bufio.NewScanner(bytes.NewReader(procCgroup))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			own = p
		}
	}
	if own == "" {
		if err == nil {
			err = reasonf(unix.ENOENT, "/proc/self/cgroup has no cgroup v2 line")
		}
		return err
	}
	e.o.bind = true
	return e.bindFrom(path.Join("/sys/fs/cgroup", own), true)
}

func errnoOf(err error) unix.Errno {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return unix.EIO
}
