package validate

import (
	"fmt"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// mountOptions are the option strings of config.md's Linux mount options
// table; others are passed to the filesystem as data.
var mountOptions = []string{
	"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion",
	"lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
	"nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
	"ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "rnoatime",
	"rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid",
	"rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave",
	"rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
	"strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable", "idmap", "ridmap",
	"newinstance", // devpts: passed to the filesystem, as runc spec writes it
}

func isBind(m specs.Mount) bool {
	if m.Type == "bind" || m.Type == "rbind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

func (c *checker) checkMounts() {
	for i, m := range c.s.Mounts {
		p := indexPath("mounts", i)
		switch {
		case m.Destination == "":
			c.errorf(p+".destination", ruleMounts, `write the path inside the container, e.g. "/data"`, "missing: destination is REQUIRED")
		case !isAbs(m.Destination):
			c.warnf(p+".destination", ruleMounts, fmt.Sprintf("write %q", path.Join("/", m.Destination)),
				"the destination %q is relative: it is read as relative to \"/\", which the spec deprecates", m.Destination)
		}
		bind := isBind(m)
		if m.Type == "" && !bind {
			c.errorf(p, ruleMounts, `set "type" (e.g. "tmpfs", "proc"), or add "rbind" to options for a bind mount`, "the mount has neither a type nor a bind option; mount(2) would fail with ENODEV")
		}
		if bind && m.Source == "" {
			c.errorf(p+".source", ruleMounts, "name the host file or directory to bind (absolute, or relative to the bundle)", "a bind mount needs a source")
		}
		idmap := false
		for j, o := range m.Options {
			if o == "idmap" || o == "ridmap" {
				idmap = true
			}
			if contains(mountOptions, o) || strings.Contains(o, "=") {
				continue
			}
			if s, ok := closest(o, mountOptions); ok {
				c.warnf(indexPath(p+".options", j), ruleMountOptions, fmt.Sprintf("did you mean %q?", s),
					"unknown mount option %q; it would be passed to the filesystem, which will likely reject it", o)
			}
		}
		if (len(m.UIDMappings) == 0) != (len(m.GIDMappings) == 0) {
			c.errorf(p, rulePOSIXMounts, "give both uidMappings and gidMappings, or neither", "uidMappings and gidMappings MUST be specified together")
		}
		if idmap && len(m.UIDMappings) == 0 && !c.hasNamespace(specs.UserNamespace) {
			c.nsErrorf(p+".options", ruleMountOptions, "give the mount uidMappings and gidMappings, or add a user namespace", "an idmap mount needs mappings: the mount has none and the container has no user namespace")
		}
		c.checkMappings(p+".uidMappings", m.UIDMappings, rulePOSIXMounts)
		c.checkMappings(p+".gidMappings", m.GIDMappings, rulePOSIXMounts)
	}
}

// checkMappings checks id mapping ranges: non-empty and not overlapping.
func (c *checker) checkMappings(p string, maps []specs.LinuxIDMapping, rule string) {
	if len(maps) > 340 {
		c.errorf(p, rule, "merge ranges; the kernel accepts at most 340 lines", "%d mappings are too many", len(maps))
	}
	for i, m := range maps {
		ip := indexPath(p, i)
		if m.Size == 0 {
			c.errorf(ip+".size", rule, "map at least one id", "a mapping of size 0 is rejected by the kernel")
			continue
		}
		if uint64(m.ContainerID)+uint64(m.Size) > 1<<32 || uint64(m.HostID)+uint64(m.Size) > 1<<32 {
			c.errorf(ip+".size", rule, "reduce size", "the range overflows 32-bit ids")
			continue
		}
		for j := 0; j < i; j++ {
			o := maps[j]
			if m.ContainerID < o.ContainerID+o.Size && o.ContainerID < m.ContainerID+m.Size {
				c.errorf(ip+".containerID", rule, "make the container id ranges disjoint", "the range %d..%d overlaps %s (the kernel rejects overlapping ranges)", m.ContainerID, uint64(m.ContainerID)+uint64(m.Size)-1, indexPath(p, j))
				break
			}
		}
	}
}
