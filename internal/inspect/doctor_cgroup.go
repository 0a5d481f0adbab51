package inspect

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CgroupMode is how the cgroup hierarchies are mounted.
type CgroupMode string

// The cgroup modes.
const (
	CgroupNone    CgroupMode = "none"
	CgroupV1      CgroupMode = "v1"     // legacy: only v1 hierarchies
	CgroupHybrid  CgroupMode = "hybrid" // v1 hierarchies plus a cgroup2 mount (often /sys/fs/cgroup/unified)
	CgroupUnified CgroupMode = "v2"     // unified: cgroup2 only
)

// v1Controllers are the controller names a v1 mount's options may hold.
var v1Controllers = []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "blkio", "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc"}

// CgroupInfo is what the mount table says about cgroups.
type CgroupInfo struct {
	Mode          CgroupMode
	V1            map[string]string // controller -> mount point
	V2Mount       string            // "" without cgroup2
	V2Controllers []string          // from cgroup.controllers of the cgroup2 mount
}

// ReadCgroupInfo reads the mount table at mounts (normally
// /proc/self/mounts).
func ReadCgroupInfo(mounts string) (*CgroupInfo, error) {
	f, err := os.Open(mounts)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ci := &CgroupInfo{V1: map[string]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			continue
		}
		mnt, fstype, opts := unescapeMount(fields[1]), fields[2], strings.Split(fields[3], ",")
		switch fstype {
		case "cgroup2":
			if ci.V2Mount == "" || mnt == "/sys/fs/cgroup" {
				ci.V2Mount = mnt
			}
		case "cgroup":
			for _, o := range opts {
				if contains(v1Controllers, o) {
					if _, seen := ci.V1[o]; !seen {
						ci.V1[o] = mnt
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	hasV1 := len(ci.V1) > 0
	switch {
	case hasV1 && ci.V2Mount != "":
		ci.Mode = CgroupHybrid
	case hasV1:
		ci.Mode = CgroupV1
	case ci.V2Mount != "":
		ci.Mode = CgroupUnified
	default:
		ci.Mode = CgroupNone
	}
	if ci.V2Mount != "" {
		if v, err := readTrim(filepath.Join(ci.V2Mount, "cgroup.controllers")); err == nil {
			ci.V2Controllers = strings.Fields(v)
		}
	}
	return ci, nil
}

// unescapeMount undoes the octal escapes of /proc/self/mounts (\040 for a
// space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if o := s[i+1 : i+4]; o[0] >= '0' && o[0] <= '3' && o[1] >= '0' && o[1] <= '7' && o[2] >= '0' && o[2] <= '7' {
				b.WriteByte((o[0]-'0')<<6 | (o[1]-'0')<<3 | (o[2] - '0'))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (h Host) checkCgroups() []Check {
	ci, err := ReadCgroupInfo(h.proc("self", "mounts"))
	if err != nil {
		return []Check{{Name: "cgroup", Status: Warn, What: "cannot read the mount table: " + err.Error()}}
	}
	var out []Check
	switch ci.Mode {
	case CgroupNone:
		return []Check{{Name: "cgroup", Status: Fail, What: "no cgroup filesystem is mounted",
			Hint: "mount cgroup2 on /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)"}}
	case CgroupUnified:
		out = append(out, Check{Name: "cgroup", Status: OK, What: "v2 (unified) at " + ci.V2Mount})
	case CgroupHybrid:
		out = append(out, Check{Name: "cgroup", Status: OK, What: "hybrid: v1 controllers, and cgroup2 at " + ci.V2Mount})
	case CgroupV1:
		out = append(out, Check{Name: "cgroup", Status: OK, What: "v1 (legacy)"})
	}
	var v1 []string
	for c := range ci.V1 {
		v1 = append(v1, c)
	}
	sort.Strings(v1)
	if len(v1) > 0 {
		out = append(out, Check{Name: "cgroup v1 controllers", Status: OK, What: strings.Join(v1, " ")})
	}
	if ci.V2Mount != "" {
		what := strings.Join(ci.V2Controllers, " ")
		if what == "" {
			what = "none (all controllers are bound to v1)"
		}
		out = append(out, Check{Name: "cgroup v2 controllers", Status: OK, What: what})
	}
	// The controllers the runtime's resources need, wherever they are.
	var missing []string
	for _, c := range []string{"memory", "pids", "cpu", "cpuset"} {
		if _, ok := ci.V1[c]; !ok && !contains(ci.V2Controllers, c) {
			missing = append(missing, c)
		}
	}
	if ci.Mode != CgroupUnified {
		if _, ok := ci.V1["devices"]; !ok {
			missing = append(missing, "devices")
		}
	}
	if len(missing) > 0 {
		out = append(out, Check{Name: "cgroup controllers", Status: Warn, What: "missing " + strings.Join(missing, ", "),
			Hint: "linux.resources settings for these fail; enable them in the kernel or mount their hierarchy"})
	}
	if ci.Mode == CgroupV1 || ci.Mode == CgroupHybrid {
		if _, ok := ci.V1["hugetlb"]; !ok {
			where := "not enabled"
			if contains(ci.V2Controllers, "hugetlb") {
				where = "bound to cgroup2, not v1"
			}
			out = append(out, Check{Name: "cgroup hugetlb", Status: Warn, What: "no v1 hugetlb hierarchy (" + where + ")",
				Hint: "crun needs it on a v1 or hybrid host (runc and hako only for linux.resources.hugepageLimits); bind it to v1: mkdir /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb"})
		}
	}
	return out
}
