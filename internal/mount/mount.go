package mount

import (
	"fmt"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// entry is one mounts[i] being performed.
type entry struct {
	c     *Config
	index int
	m     specs.Mount
	dest  string // clean, absolute, inside the container
	typ   string // "bind" for bind mounts
	o     options
	file  bool // a bind of a file (its mount point is a file)
}

// field is the entry's JSON path, mounts[i].
func (e *entry) field() string { return fmt.Sprintf("mounts[%d]", e.index) }

func (e *entry) fail(err error) error {
	return &Error{
		Step:        "mounting",
		Source:      e.m.Source,
		Destination: e.m.Destination,
		Type:        e.typ,
		Field:       e.field(),
		Err:         err,
		inUserNS:    e.c.InUserNS,
	}
}

// cleanDest makes a configured destination absolute and clean. Relative
// destinations are taken relative to "/", as runc does.
func cleanDest(p string) string { return path.Clean("/" + p) }

// procAllowed are the files under /proc that may be replaced by a mount
// (lxcfs and similar tools fake them); anything else there could hide a
// kernel security interface such as /proc/self/attr or /proc/sys.
var procAllowed = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/pressure/cpu": true, "/proc/pressure/io": true, "/proc/pressure/memory": true,
	"/proc/sys/kernel/ns_last_pid": true, "/proc/sys/crypto/fips_enabled": true,
}

func isProcfs(p string) bool {
	var st unix.Statfs_t
	return unix.Statfs(p, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}
