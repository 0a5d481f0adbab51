package mount

import (
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// lockableFlags are the per-mount flags the kernel locks on the mounts a
// less privileged user namespace inherits (MNT_LOCK_*): its root may not
// clear them.
const lockableFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// bindFlags settles the flags of a bind mount as runc does. Options that
// name no flag keep the source mount's flags. Otherwise the bind gets the
// flags named and loses the others ("mount --bind -o", atime kept unless
// named), where the source mount allows: where its flags are locked (the
// runner is in a user namespace, or hako itself is), they are kept, and
// asking to clear one is refused with its name. ("remount" applies the
// options on top of the source's flags instead.)
func (k *compiler) bindFlags(e *entry) error {
	if e.o.flags&unix.MS_REMOUNT != 0 || (e.o.flags|e.o.clear)&attrFlags == 0 {
		return nil
	}
	if k.c.InUserNS || !inInitUserNS() {
		var st unix.Statfs_t
		if unix.Statfs(e.m.Source, &st) == nil { // (missing: an earlier mount makes it)
			src := statfsFlags(int64(st.Flags)) // (uint32 on some architectures)
			if x := src & e.o.clear & lockableFlags; x != 0 {
				return withHint(reasonf(unix.EPERM, "cannot clear the locked flags %s of the source's mount: a user namespace inherits them and may not clear them", flagNames(x)),
					"drop "+optionNames(x)+" from the options, or bind a source mounted without "+flagNames(x))
			}
			at := e.o.flags & atimeFlags
			if at == 0 && e.o.clear&src&atimeFlags != 0 {
				return withHint(reasonf(unix.EPERM, "cannot clear the locked atime flag %s of the source's mount", flagNames(src&atimeFlags)),
					"drop the atime option, or bind a source mounted without it")
			}
			if at != 0 && at != src&atimeFlags {
				return withHint(reasonf(unix.EPERM, "cannot change the locked atime flag %s of the source's mount to %s", flagNames(src&atimeFlags), flagNames(at)),
					"drop the atime option, or bind a source mounted with it")
			}
			e.o.flags |= src & lockableFlags
		}
	}
	e.o.clear |= lockableFlags &^ e.o.flags
	return nil
}

// statfsFlags are the mount flags statfs(2) reports (ST_*) as MS_* flags.
func statfsFlags(f int64) uintptr {
	var out uintptr
	for st, ms := range map[int64]uintptr{
		unix.ST_RDONLY: unix.MS_RDONLY, unix.ST_NOSUID: unix.MS_NOSUID, unix.ST_NODEV: unix.MS_NODEV,
		unix.ST_NOEXEC: unix.MS_NOEXEC, unix.ST_NOATIME: unix.MS_NOATIME, unix.ST_NODIRATIME: unix.MS_NODIRATIME,
		unix.ST_RELATIME: unix.MS_RELATIME,
	} {
		if f&st != 0 {
			out |= ms
		}
	}
	return out
}

var flagNameList = []struct {
	flag      uintptr
	name, opt string
}{
	{unix.MS_RDONLY, "ro", "rw"}, {unix.MS_NOSUID, "nosuid", "suid"}, {unix.MS_NODEV, "nodev", "dev"},
	{unix.MS_NOEXEC, "noexec", "exec"}, {unix.MS_NOATIME, "noatime", "atime"}, {unix.MS_NODIRATIME, "nodiratime", "diratime"},
	{unix.MS_RELATIME, "relatime", "norelatime"}, {unix.MS_STRICTATIME, "strictatime", "nostrictatime"},
}

// flagNames names flags as /proc/mounts does ("nosuid,nodev"); optionNames
// names the options that clear them ("suid", "dev").
func flagNames(f uintptr) string   { return names(f, false) }
func optionNames(f uintptr) string { return names(f, true) }

func names(f uintptr, opt bool) string {
	var out []string
	for _, n := range flagNameList {
		if f&n.flag != 0 {
			if opt {
				out = append(out, `"`+n.opt+`"`)
			} else {
				out = append(out, n.name)
			}
		}
	}
	return strings.Join(out, ",")
}

// inInitUserNS reports whether hako runs in the host's user namespace
// (its uid_map is the identity over every id), where nothing it sees is
// locked.
var inInitUserNS = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	return err == nil && strings.Join(strings.Fields(string(b)), " ") == "0 0 4294967295"
})
