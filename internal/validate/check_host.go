package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var nsCloneFlags = map[specs.LinuxNamespaceType]int{
	specs.PIDNamespace: unix.CLONE_NEWPID, specs.NetworkNamespace: unix.CLONE_NEWNET, specs.MountNamespace: unix.CLONE_NEWNS,
	specs.IPCNamespace: unix.CLONE_NEWIPC, specs.UTSNamespace: unix.CLONE_NEWUTS, specs.UserNamespace: unix.CLONE_NEWUSER,
	specs.CgroupNamespace: unix.CLONE_NEWCGROUP, specs.TimeNamespace: unix.CLONE_NEWTIME,
}

var nsFlagNames = map[int]string{
	unix.CLONE_NEWPID: "pid", unix.CLONE_NEWNET: "network", unix.CLONE_NEWNS: "mount", unix.CLONE_NEWIPC: "ipc",
	unix.CLONE_NEWUTS: "uts", unix.CLONE_NEWUSER: "user", unix.CLONE_NEWCGROUP: "cgroup", unix.CLONE_NEWTIME: "time",
}

// checkHost runs the checks that look at the host: namespace files, bind
// mount sources, hook programs.
func (c *checker) checkHost() {
	if c.s.Linux != nil {
		for i, ns := range c.s.Linux.Namespaces {
			if ns.Path == "" {
				continue // nothing on the host to look at (and no regexp to compile)
			}
			if m := procNSPath().FindStringSubmatch(ns.Path); m != nil && !contains(nsFileNames[string(ns.Type)], m[1]) {
				continue // the name already says it is the wrong type
			}
			if ns.Path != "" && isAbs(ns.Path) {
				c.checkNSPath(indexPath("linux.namespaces", i)+".path", ns)
			}
		}
	}
	for i, m := range c.s.Mounts {
		if !isBind(m) || m.Source == "" {
			continue
		}
		src := m.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(c.bundle, src)
		}
		if _, err := os.Stat(src); err != nil && !c.madeByEarlierMount(i, src) {
			hint := "create it on the host, or fix the path (relative sources are relative to the bundle)"
			c.errorf(indexPath("mounts", i)+".source", ruleMounts, hint, "the bind mount source %q does not exist on the host: %s", m.Source, errText(err))
		}
	}
	for _, l := range c.hookLists() {
		if l.inContainer {
			continue
		}
		for i, h := range l.hooks {
			if !isAbs(h.Path) {
				continue
			}
			p := indexPath("hooks."+l.name, i) + ".path"
			fi, err := os.Stat(h.Path)
			switch {
			case err != nil:
				c.errorf(p, ruleHooks, l.name+" hooks run on the host: install the program there", "%q: %s on the host", h.Path, errText(err))
			case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
				c.errorf(p, ruleHooks, "chmod +x "+h.Path, "%q: permission denied: not an executable file", h.Path)
			}
		}
	}
}

// madeByEarlierMount reports whether a missing bind source lies at or
// below the destination of an earlier mount of the config, inside the
// rootfs: that mount makes its mount point (and may carry the rest), so
// only the mount itself can tell whether the source is there, as runc's.
func (c *checker) madeByEarlierMount(i int, src string) bool {
	if c.s.Root == nil || c.s.Root.Path == "" {
		return false
	}
	root := c.s.Root.Path
	if !filepath.IsAbs(root) {
		root = filepath.Join(c.bundle, root)
	}
	src = filepath.Clean(src)
	for _, m := range c.s.Mounts[:i] {
		if !filepath.IsAbs(m.Destination) {
			continue
		}
		dst := filepath.Join(root, m.Destination)
		if src == dst || strings.HasPrefix(src, dst+"/") {
			return true
		}
	}
	return false
}

// checkNSPath asks the kernel which namespace a file is (NS_GET_NSTYPE).
func (c *checker) checkNSPath(p string, ns specs.LinuxNamespace) {
	f, err := os.Open(ns.Path)
	if err != nil {
		c.errorf(p, ruleNamespaces, "the process or bind mount that held the namespace may be gone", "cannot open the %s namespace %q: %s", ns.Type, ns.Path, errText(err))
		return
	}
	defer f.Close()
	got, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		c.errorf(p, ruleNamespaces, "name a namespace file such as /proc/PID/ns/"+nsFileNames[string(ns.Type)][0], "%q is not a namespace file", ns.Path)
		return
	}
	if want, ok := nsCloneFlags[ns.Type]; ok && got != want {
		c.errorf(p, ruleNamespaces, fmt.Sprintf("point path at a namespace of type %q, or set type to %q", ns.Type, nsFlagNames[got]),
			"%q is a %s namespace, but type is %q", ns.Path, nsFlagNames[got], ns.Type)
	}
}
