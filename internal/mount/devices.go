package mount

import (
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
