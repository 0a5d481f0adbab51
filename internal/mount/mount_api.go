package mount

import (
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Config is everything rootfs setup needs, filled from config.json by the caller.
type Config struct {
	Rootfs        string              // absolute, clean host path of the rootfs (already resolved against the bundle)
	Readonly      bool                // root.readonly
	Propagation   string              // linux.rootfsPropagation: "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"; "" means rprivate
	Mounts        []specs.Mount       // config.json mounts, in order
	Devices       []specs.LinuxDevice // linux.devices (in addition to the defaults)
	MaskedPaths   []string
	ReadonlyPaths []string
	NoPivot       bool // --no-pivot: chroot-style (MS_MOVE + chroot) instead of pivot_root
	InUserNS      bool // the process is in a new user namespace: mknod is not permitted, bind-mount device nodes from the host /dev instead
	OwnNetNS      bool // with InUserNS: the user namespace owns the network namespace, so it may mount sysfs
	CgroupNS      bool // the process has its own cgroup namespace (affects how a "cgroup" mount is done)
	// IDMaps are, by index in Mounts, the fds (in the program's fd
	// table) of user namespaces whose mappings idmapped mounts take.
	IDMaps map[int]int
	// BindFDs are, by index in Mounts, detached clones (open_tree) of
	// bind sources the parent made, for a runner that may not reach the
	// source itself (root of a user namespace): the program attaches
	// them instead of cloning the source.
	BindFDs map[int]int
}

// IsBind reports whether m is a bind mount.
func IsBind(m specs.Mount) bool { return m.Type == "bind" || parseOptions(m.Options).bind }

// Recursive reports whether m is a recursive bind (rbind).
func Recursive(m specs.Mount) bool { return parseOptions(m.Options).recursive }

// IDMapped reports whether m is an idmapped mount (mappings, or the idmap
// or ridmap option).
func IDMapped(m specs.Mount) bool {
	return len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 || parseOptions(m.Options).idmap
}

// FromSpec is the Config for spec s (s.Linux set) with its root at rootfs;
// the caller sets NoPivot, InUserNS, OwnNetNS and CgroupNS. A relative bind-mount
// source is made absolute against bundle, as runtimes resolve it.
func FromSpec(s *specs.Spec, rootfs, bundle string) *Config {
	c := &Config{
		Rootfs:        rootfs,
		Readonly:      s.Root != nil && s.Root.Readonly,
		Propagation:   s.Linux.RootfsPropagation,
		Mounts:        s.Mounts,
		Devices:       s.Linux.Devices,
		MaskedPaths:   s.Linux.MaskedPaths,
		ReadonlyPaths: s.Linux.ReadonlyPaths,
	}
	copied := false
	for i, m := range s.Mounts {
		bind := m.Type == "bind" || parseOptions(m.Options).bind // as doMount and plan decide
		if m.Source == "" || filepath.IsAbs(m.Source) || bundle == "" || !bind {
			continue
		}
		if !copied {
			c.Mounts = append([]specs.Mount(nil), s.Mounts...) // the spec stays as it was
			copied = true
		}
		c.Mounts[i].Source = filepath.Join(bundle, m.Source)
	}
	return c
}

func propagationFlag(p string) (uintptr, bool) {
	if p == "" {
		return unix.MS_REC | unix.MS_PRIVATE, true
	}
	f, ok := propagationOptions[p]
	return f, ok
}

func (c *Config) checkRootfs() error {
	fail := func(err error) error {
		return &Error{Step: "checking the rootfs", Destination: c.Rootfs, Field: "root.path", Err: err}
	}
	if !filepath.IsAbs(c.Rootfs) || filepath.Clean(c.Rootfs) != c.Rootfs {
		return fail(reasonf(unix.EINVAL, "the rootfs path must be absolute and clean"))
	}
	if c.Rootfs == "/" {
		return fail(reasonf(unix.EINVAL, "the host's / cannot be a container's rootfs"))
	}
	st, err := os.Stat(c.Rootfs)
	if err != nil {
		return fail(err)
	}
	if !st.IsDir() {
		return fail(reasonf(unix.ENOTDIR, "the rootfs is not a directory"))
	}
	if _, ok := propagationFlag(c.Propagation); !ok {
		return &Error{Step: "checking the rootfs", Destination: "/", Field: "linux.rootfsPropagation",
			Err: reasonf(unix.EINVAL, "unknown propagation %q", c.Propagation)}
	}
	return nil
}
