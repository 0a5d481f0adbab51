package mount

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func fileMode(m os.FileMode) *os.FileMode { return &m }

// defaultDevices are the nodes every container gets in /dev, with runc's
// modes.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: fileMode(0o666)},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5, FileMode: fileMode(0o666)},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7, FileMode: fileMode(0o666)},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8, FileMode: fileMode(0o666)},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9, FileMode: fileMode(0o666)},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0, FileMode: fileMode(0o666)},
}

// devSymlinks are created in /dev next to the default devices.
var devSymlinks = [][2]string{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
}

// createDevices creates the default devices (when defaults) and
// c.Devices, then the /dev symlinks (when defaults).
func createDevices(c *Config, r *root, defaults bool) error {
	configured := map[string]bool{}
	for _, d := range c.Devices {
		configured[path.Clean(d.Path)] = true
	}
	if defaults {
		for _, d := range defaultDevices {
			if configured[d.Path] {
				continue // the configuration's own entry wins
			}
			if err := createDevice(c, r, d); err != nil {
				return &Error{Step: "creating device", Destination: d.Path, Source: d.Path, Type: d.Type, Err: err, inUserNS: c.InUserNS}
			}
		}
	}
	for i, d := range c.Devices {
		if err := createDevice(c, r, d); err != nil {
			return &Error{Step: "creating device", Destination: d.Path, Source: d.Path, Type: d.Type,
				Field: fmt.Sprintf("linux.devices[%d]", i), Err: err, inUserNS: c.InUserNS}
		}
	}
	if defaults {
		if err := devLinks(r); err != nil {
			return &Error{Step: "creating symlinks in", Destination: "/dev", Err: err}
		}
	}
	return nil
}

// deviceType maps linux.devices[].type to the file type bits.
func deviceType(t string) (uint32, error) {
	switch t {
	case "c", "u":
		return unix.S_IFCHR, nil
	case "b":
		return unix.S_IFBLK, nil
	case "p":
		return unix.S_IFIFO, nil
	}
	return 0, reasonf(unix.EINVAL, "device type %q is not one of c, u, b, p", t)
}

// checkDevicePath accepts only paths below /dev after cleaning.
func checkDevicePath(p string) (string, error) {
	if !path.IsAbs(p) {
		return "", reasonf(unix.EINVAL, "the device path %q is not absolute", p)
	}
	clean := path.Clean(p)
	if !strings.HasPrefix(clean, "/dev/") {
		return "", reasonf(unix.EINVAL, "the device path %q is not below /dev", p)
	}
	return clean, nil
}

func createDevice(c *Config, r *root, d specs.LinuxDevice) error {
	p, err := checkDevicePath(d.Path)
	if err != nil {
		return err
	}
	ft, err := deviceType(d.Type)
	if err != nil {
		return err
	}
	if c.InUserNS && ft != unix.S_IFIFO {
		return bindDevice(r, p)
	}
	dir, base := path.Split(p)
	parent, err := r.mkdirAllHandle(dir)
	if err != nil {
		return err
	}
	defer parent.Close()
	mode := uint32(0o666)
	if d.FileMode != nil {
		mode = uint32(d.FileMode.Perm())
	}
	dev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	err = unix.Mknodat(int(parent.Fd()), base, ft|mode, dev)
	switch {
	case errors.Is(err, unix.EEXIST):
		return nil // the image or an earlier entry already has it
	case errors.Is(err, unix.EPERM) && ft != unix.S_IFIFO:
		return bindDevice(r, p) // e.g. a user namespace the caller did not tell us about
	case err != nil:
		return err
	}
	// Fix the owner and mode (mknod applies the umask) through a handle
	// on the node itself, never following a symlink.
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if err := r.checkProc(); err != nil {
		return err
	}
	return unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", fd), mode)
}

// bindDevice bind-mounts the host's node at p over an empty file at p in
// the container: the way to get a device where mknod is not permitted.
func bindDevice(r *root, p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.Mode()&(os.ModeDevice|os.ModeNamedPipe) == 0 {
		return reasonf(unix.ENODEV, "the host's %s is not a device node", p)
	}
	if err := r.mkfile(p); err != nil {
		return err
	}
	return r.at(p, func(t string, _ int) error { return unix.Mount(p, t, "", unix.MS_BIND, "") })
}

// devLinks creates /dev/fd, stdin, stdout, stderr, ptmx and core.
func devLinks(r *root) error {
	dev, err := r.mkdirAllHandle("/dev")
	if err != nil {
		return err
	}
	defer dev.Close()
	links := devSymlinks
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"core", "/proc/kcore"})
	}
	// /dev/ptmx must be the devpts instance's: replace whatever is there.
	if err := unix.Unlinkat(int(dev.Fd()), "ptmx", 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing /dev/ptmx: %w", err)
	}
	links = append(links, [2]string{"ptmx", "pts/ptmx"})
	for _, l := range links {
		if err := unix.Symlinkat(l[1], int(dev.Fd()), l[0]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("/dev/%s -> %s: %w", l[0], l[1], err)
		}
	}
	return nil
}
