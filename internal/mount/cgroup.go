package mount

import (
	"bufio"
	"bytes"
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
