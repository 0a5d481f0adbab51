package validate

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var nsTypes = []string{"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"}

// nsFileNames maps a namespace type to its file name in /proc/PID/ns.
var nsFileNames = map[string][]string{
	"pid": {"pid", "pid_for_children"}, "network": {"net"}, "mount": {"mnt"}, "ipc": {"ipc"},
	"uts": {"uts"}, "user": {"user"}, "cgroup": {"cgroup"}, "time": {"time", "time_for_children"},
}

// nsAliases are the names people write for a namespace type.
var nsAliases = map[string]string{"net": "network", "mnt": "mount", "ns": "mount", "usr": "user", "userns": "user", "pidns": "pid", "netns": "network"}

// procNSPath matches a namespace file of /proc; compiled on first use, as
// are the package's other expressions, so that a start of hako pays for none.
var procNSPath = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^/proc/(?:\d+|self|thread-self)(?:/task/\d+)?/ns/([a-z_]+)$`)
})

func (c *checker) checkLinux() {
	l := c.s.Linux
	if l == nil {
		c.warnf("linux", ruleLinux, `add "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "network"}]}`,
			"missing: without a linux section the container shares every namespace (processes, mounts, network, …) with the host")
		return
	}
	c.checkNamespaces(l.Namespaces)
	c.checkUserNS(l)
	c.checkSysctl(l.Sysctl)
	c.checkDevices(l.Devices)
	for _, f := range []struct {
		name  string
		paths []string
		rule  string
	}{{"maskedPaths", l.MaskedPaths, ruleMaskedPaths}, {"readonlyPaths", l.ReadonlyPaths, ruleReadonlyPaths}} {
		for i, p := range f.paths {
			if !isAbs(p) {
				c.errorf(indexPath("linux."+f.name, i), f.rule, fmt.Sprintf("write %q", path.Join("/", p)), "%q must be an absolute path", p)
			}
		}
		if len(f.paths) > 0 && !c.hasNamespace(specs.MountNamespace) {
			c.nsErrorf("linux."+f.name, f.rule, c.nsHint(specs.MountNamespace), "%s need a new mount namespace: without one they would change the host's mounts", f.name)
		}
	}
	switch l.RootfsPropagation {
	case "", "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable":
	default:
		c.errorf("linux.rootfsPropagation", rulePropagation, hintOneOf(l.RootfsPropagation, []string{"shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"}), "unknown propagation %q", l.RootfsPropagation)
	}
	if pe := l.Personality; pe != nil {
		if pe.Domain != specs.PerLinux && pe.Domain != specs.PerLinux32 {
			c.errorf("linux.personality.domain", rulePersonality, hintOneOf(string(pe.Domain), []string{"LINUX", "LINUX32"}), "unknown execution domain %q", pe.Domain)
		}
		if len(pe.Flags) > 0 {
			c.errorf("linux.personality.flags", rulePersonality, "delete the flags", "the spec defines no personality flags, and hako applies none")
		}
	}
	c.checkIntelRdt(l.IntelRdt)
	c.checkMemoryPolicy(l.MemoryPolicy)
	if len(l.NetDevices) > 0 && !c.hasNamespace(specs.NetworkNamespace) {
		c.nsErrorf("linux.netDevices", ruleNetDevices, c.nsHint(specs.NetworkNamespace), "moving network devices needs a network namespace to move them into")
	}
	for host, d := range l.NetDevices {
		name := d.Name
		if name == "" {
			name = host
		}
		if len(name) > 15 || strings.ContainsAny(name, "/: \t\n") || name == "." || name == ".." {
			c.errorf(keyPath("linux.netDevices", host), ruleNetDevices, "interface names have at most 15 characters and no '/', ':' or white space", "%q is not a valid interface name", name)
		}
	}
	if len(l.TimeOffsets) > 0 && !c.hasNamespace(specs.TimeNamespace) {
		c.nsErrorf("linux.timeOffsets", ruleTimeOffset, c.nsHint(specs.TimeNamespace), "time offsets need a new time namespace")
	} else if ns, i, ok := c.namespace(specs.TimeNamespace); ok && ns.Path != "" && len(l.TimeOffsets) > 0 {
		c.errorf("linux.timeOffsets", ruleTimeOffset, fmt.Sprintf("delete linux.namespaces[%d].path for a new time namespace, or delete linux.timeOffsets", i), "the time namespace is joined (%s): its offsets were set by its creator and cannot change", ns.Path)
	}
	for clock, off := range l.TimeOffsets {
		if clock != "monotonic" && clock != "boottime" {
			c.errorf(keyPath("linux.timeOffsets", clock), ruleTimeOffset, hintOneOf(clock, []string{"monotonic", "boottime"}), "unknown clock %q: time namespaces offset only monotonic and boottime", clock)
		}
		if off.Nanosecs >= 1e9 {
			c.errorf(keyPath("linux.timeOffsets", clock)+".nanosecs", ruleTimeOffset, "carry whole seconds into secs", "nanosecs %d is not below one second", off.Nanosecs)
		}
	}
}

func (c *checker) checkNamespaces(nss []specs.LinuxNamespace) {
	seen := map[specs.LinuxNamespaceType]int{}
	for i, ns := range nss {
		p := indexPath("linux.namespaces", i)
		t := string(ns.Type)
		if !contains(nsTypes, t) {
			hint := hintOneOf(t, nsTypes)
			if a, ok := nsAliases[t]; ok {
				hint = fmt.Sprintf("write %q", a)
			}
			c.errorf(p+".type", ruleNamespaces, hint, "unknown namespace type %q", t)
			continue
		}
		if j, dup := seen[ns.Type]; dup {
			c.errorf(p+".type", ruleNamespaces, "keep one entry per type", "the %s namespace is also listed at linux.namespaces[%d]: duplicated namespaces MUST be an error", t, j)
		}
		seen[ns.Type] = i
		if ns.Path == "" {
			continue
		}
		if !isAbs(ns.Path) {
			c.errorf(p+".path", ruleNamespaces, "write the absolute path of a namespace file, e.g. /proc/PID/ns/"+nsFileNames[t][0], "the namespace path %q must be absolute", ns.Path)
			continue
		}
		if m := procNSPath().FindStringSubmatch(ns.Path); m != nil && !contains(nsFileNames[t], m[1]) {
			want := nsFileNames[t][0]
			c.errorf(p+".path", ruleNamespaces, fmt.Sprintf("use %s, or change type to the namespace this file is", strings.TrimSuffix(ns.Path, m[1])+want),
				"%q is a %s namespace file, but type is %q", ns.Path, m[1], t)
		}
	}
	if !c.hasNamespace(specs.MountNamespace) && len(c.s.Mounts) > 0 {
		c.nsErrorf("mounts", ruleNamespaces, c.nsHint(specs.MountNamespace),
			"without a mount namespace the mounts would land in the host's mount table and outlive the container (runc leaves them there): hako refuses them; give the container a mount namespace or no mounts")
	}
}

func (c *checker) checkUserNS(l *specs.Linux) {
	userns, _, hasUser := c.namespace(specs.UserNamespace)
	maps := len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0
	switch {
	case maps && !hasUser:
		p := "linux.uidMappings"
		if len(l.UIDMappings) == 0 {
			p = "linux.gidMappings"
		}
		c.nsErrorf(p, ruleIDMappings, c.nsHint(specs.UserNamespace)+", or delete the mappings", "uid/gid mappings need a user namespace, and linux.namespaces has none")
	case hasUser && userns.Path == "" && (len(l.UIDMappings) == 0 || len(l.GIDMappings) == 0):
		c.nsErrorf("linux.namespaces", ruleIDMappings, `add "uidMappings" and "gidMappings" to linux (`+"`hako spec --rootless`"+` writes them)`,
			"a new user namespace needs uidMappings and gidMappings: without them every id in the container is unmapped")
	case hasUser && userns.Path != "" && maps:
		c.nsWarnf("linux.uidMappings", ruleIDMappings, "delete the mappings", "the mappings are ignored: the container joins an existing user namespace (%s), whose mappings are already set", userns.Path)
	}
	c.checkMappings("linux.uidMappings", l.UIDMappings, ruleIDMappings)
	c.checkMappings("linux.gidMappings", l.GIDMappings, ruleIDMappings)
}

// ipcSysctls are the sysctls of the IPC namespace outside fs.mqueue.
var ipcSysctls = []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}

func (c *checker) checkSysctl(sysctl map[string]string) {
	for key := range sysctl {
		k := strings.ReplaceAll(key, "/", ".")
		p := keyPath("linux.sysctl", key)
		var need specs.LinuxNamespaceType
		switch {
		case contains(ipcSysctls, k) || strings.HasPrefix(k, "fs.mqueue."):
			need = specs.IPCNamespace
		case strings.HasPrefix(k, "net."):
			need = specs.NetworkNamespace
		case k == "kernel.hostname" || k == "kernel.domainname":
			need = specs.UTSNamespace
		default:
			c.errorf(p, ruleSysctl, "set it on the host instead; only IPC, network and UTS sysctls are per container",
				"%s is not namespaced: setting it would change the whole host", key)
			continue
		}
		if !c.hasNamespace(need) {
			c.nsErrorf(p, ruleSysctl, c.nsHint(need), "%s needs a new %s namespace: without one it would change the host's", key, need)
		}
	}
}

func (c *checker) checkDevices(devs []specs.LinuxDevice) {
	seen := map[string]int{}
	for i, d := range devs {
		p := indexPath("linux.devices", i)
		switch d.Type {
		case "c", "b", "u", "p":
		default:
			c.errorf(p+".type", ruleDevices, `use "c" (character), "b" (block), "u" (unbuffered character) or "p" (FIFO)`, "unknown device type %q", d.Type)
		}
		switch {
		case d.Path == "":
			c.errorf(p+".path", ruleDevices, `write the path inside the container, e.g. "/dev/fuse"`, "missing: a device's path is REQUIRED")
		case !isAbs(d.Path):
			c.errorf(p+".path", ruleDevices, fmt.Sprintf("write %q", path.Join("/", d.Path)), "the device path %q must be absolute", d.Path)
		}
		if j, dup := seen[d.Path]; dup && d.Path != "" {
			c.errorf(p+".path", ruleDevices, "keep one entry per path", "%s is also created by linux.devices[%d]", d.Path, j)
		}
		seen[d.Path] = i
		if d.Type != "p" && (!c.given(p+".major") || !c.given(p+".minor")) {
			c.errorf(p, ruleDevices, `add "major" and "minor" (see ls -l /dev/NAME on the host)`, "major and minor are REQUIRED unless type is \"p\"")
		}
		if d.FileMode != nil {
			m := uint32(*d.FileMode)
			if s := fmt.Sprint(m); m > 0o777 && len(s) >= 3 && len(s) <= 4 && strings.Trim(s, "01234567") == "" {
				var oct uint32
				fmt.Sscanf(s, "%o", &oct)
				c.warnf(p+".fileMode", ruleDevices, fmt.Sprintf("fileMode is decimal: for octal 0%s write %d", s, oct), "fileMode %d looks like an octal mode written in decimal (it is 0%o)", m, m)
			}
		}
	}
}

func (c *checker) checkIntelRdt(r *specs.LinuxIntelRdt) {
	if r == nil {
		return
	}
	if r.MemBwSchema != "" && !strings.HasPrefix(r.MemBwSchema, "MB:") {
		c.errorf("linux.intelRdt.memBwSchema", ruleIntelRdt, `write it as "MB:0=100;1=100"`, "memBwSchema MUST start with \"MB:\"")
	}
	if strings.Contains(r.MemBwSchema, "\n") {
		c.errorf("linux.intelRdt.memBwSchema", ruleIntelRdt, "use schemata for several lines", "memBwSchema MUST NOT contain newlines")
	}
	if strings.Contains(r.L3CacheSchema, "\n") {
		c.errorf("linux.intelRdt.l3CacheSchema", ruleIntelRdt, "use schemata for several lines", "l3CacheSchema MUST NOT contain newlines")
	}
	for i, s := range r.Schemata {
		if strings.Contains(s, "\n") {
			c.errorf(indexPath("linux.intelRdt.schemata", i), ruleIntelRdt, "one line per element", "schemata entries MUST NOT contain newlines")
		}
	}
}

func (c *checker) checkMemoryPolicy(m *specs.LinuxMemoryPolicy) {
	if m == nil {
		return
	}
	modes := []string{"MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"}
	flags := []string{"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"}
	if !contains(modes, string(m.Mode)) {
		c.errorf("linux.memoryPolicy.mode", ruleMemoryPolicy, hintOneOf(string(m.Mode), modes), "unknown memory policy mode %q", m.Mode)
	}
	for i, f := range m.Flags {
		if !contains(flags, string(f)) {
			c.errorf(indexPath("linux.memoryPolicy.flags", i), ruleMemoryPolicy, hintOneOf(string(f), flags), "unknown memory policy flag %q", f)
		}
	}
	switch m.Mode {
	case specs.MpolDefault, specs.MpolLocal:
		if m.Nodes != "" {
			c.errorf("linux.memoryPolicy.nodes", ruleMemoryPolicy, "delete nodes", "%s takes no nodes", m.Mode)
		}
	case specs.MpolBind, specs.MpolInterleave, specs.MpolWeightedInterleave, specs.MpolPreferredMany:
		if m.Nodes == "" {
			c.errorf("linux.memoryPolicy.nodes", ruleMemoryPolicy, `list the NUMA nodes, e.g. "0-1"`, "%s needs nodes", m.Mode)
		}
	}
	c.checkCPUList("linux.memoryPolicy.nodes", m.Nodes, ruleMemoryPolicy)
}
