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
	CgroupNS      bool // the process has its own cgroup namespace (affects how a "cgroup" mount is done)
}

// FromSpec is the Config for spec s (s.Linux set) with its root at rootfs;
// the caller sets NoPivot, InUserNS and CgroupNS. A relative bind-mount
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

// Prepare runs before pivot_root: it makes "/" recursively private (a
// recursive slave when Propagation asks for slave or shared propagation) so
// that nothing mounted here reaches the host,
// bind-mounts Rootfs onto itself (so that it is a mount point), performs
// every entry of Mounts in order, creates the default devices and Devices,
// and the /dev symlinks.
func Prepare(c *Config) error {
	if err := c.checkRootfs(); err != nil {
		return err
	}
	if err := refuseHostMountNS(); err != nil {
		return &Error{Step: "preparing the rootfs", Destination: c.Rootfs, Err: err}
	}
	// Nothing may flow from here to the host: a shared root (as asked
	// for by "shared", "rshared") starts as a slave and becomes shared
	// only after pivot_root, in a peer group of its own.
	start := uintptr(unix.MS_REC | unix.MS_PRIVATE)
	switch c.Propagation {
	case "slave", "rslave", "shared", "rshared":
		start = unix.MS_REC | unix.MS_SLAVE
	}
	if err := unix.Mount("", "/", "", start, ""); err != nil {
		return &Error{Step: "setting mount propagation of", Destination: "/", Field: "linux.rootfsPropagation", Err: err, inUserNS: c.InUserNS}
	}
	if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return &Error{Step: "bind-mounting the rootfs onto itself", Destination: c.Rootfs, Field: "root.path", Err: err, inUserNS: c.InUserNS}
	}
	r, err := openRoot(c.Rootfs)
	if err != nil {
		return &Error{Step: "opening the rootfs", Destination: c.Rootfs, Field: "root.path", Err: err}
	}
	defer r.close()
	devBound := false
	for i, m := range c.Mounts {
		if err := doMount(c, r, i, m); err != nil {
			return err
		}
		if cleanDest(m.Destination) == "/dev" && (m.Type == "bind" || parseOptions(m.Options).bind) {
			devBound = true
		}
	}
	return createDevices(c, r, !devBound)
}

// PivotRoot makes Rootfs the root: pivot_root(".", ".") and a lazy unmount
// of the old root after making it a recursive slave, so that no trace of the
// host's mounts stays visible; with NoPivot, MS_MOVE onto "/" and chroot.
// The working directory ends as "/". It then applies a non-empty
// Propagation to the new root ("" leaves it rprivate, as Prepare made it,
// and keeps the propagation options of individual mounts).
func PivotRoot(c *Config) error {
	if err := c.checkRootfs(); err != nil {
		return err
	}
	var err error
	if c.NoPivot {
		err = moveRoot(c.Rootfs)
	} else {
		err = pivotRoot(c.Rootfs)
	}
	if err != nil {
		return err
	}
	if c.Propagation == "" {
		// "/" has been rprivate since Prepare; applying it again
		// (recursively) would undo the propagation options of mounts[].
		return nil
	}
	flag, ok := propagationFlag(c.Propagation)
	if !ok {
		return &Error{Step: "setting root propagation", Destination: "/", Field: "linux.rootfsPropagation",
			Err:  reasonf(unix.EINVAL, "unknown propagation %q", c.Propagation),
			Hint: "use one of private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable"}
	}
	if err := unix.Mount("", "/", "", flag, ""); err != nil {
		return &Error{Step: "setting root propagation", Destination: "/", Field: "linux.rootfsPropagation", Err: err, inUserNS: c.InUserNS}
	}
	return nil
}

// Finish runs after PivotRoot: it masks MaskedPaths (/dev/null bound over
// files, an empty read-only tmpfs over directories), makes ReadonlyPaths
// read-only (recursively, keeping their other flags), both skipping paths
// that do not exist, and at last remounts "/" read-only when Readonly.
func Finish(c *Config) error {
	r, err := openRoot("/")
	if err != nil {
		return &Error{Step: "opening the root", Destination: "/", Err: err}
	}
	defer r.close()
	if err := maskPaths(c, r); err != nil {
		return err
	}
	if err := readonlyPaths(c, r); err != nil {
		return err
	}
	if c.Readonly {
		if err := remountReadonly("/"); err != nil {
			return &Error{Step: "making the root read-only", Destination: "/", Field: "root.readonly", Err: err, inUserNS: c.InUserNS}
		}
	}
	return nil
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

// refuseHostMountNS refuses to run in the mount namespace of PID 1: every
// mount here, starting with making "/" a slave, would change the host.
func refuseHostMountNS() error {
	if self, err := os.Readlink("/proc/self"); err != nil || self == "1" {
		return nil // a /proc of our own PID namespace: /proc/1 is us
	}
	var a, b unix.Stat_t
	if unix.Stat("/proc/self/ns/mnt", &a) != nil || unix.Stat("/proc/1/ns/mnt", &b) != nil {
		return nil // cannot tell (e.g. no ptrace access to PID 1 in a user namespace)
	}
	if a.Dev == b.Dev && a.Ino == b.Ino {
		return withHint(reasonf(unix.EPERM, "the process is in the host's mount namespace; rootfs setup would change the host's mounts"),
			"start the container's init with a new mount namespace (CLONE_NEWNS)")
	}
	return nil
}
