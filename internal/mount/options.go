package mount

import (
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// options is a mount's options list parsed the way mount(8) reads -o.
type options struct {
	flags       uintptr   // MS_* flags to set
	clear       uintptr   // MS_* flags explicitly cleared (rw, suid, dev, exec, ...)
	propagation []uintptr // MS_PRIVATE, MS_REC|MS_SLAVE, ... applied one by one after the mount
	bind        bool      // bind or rbind
	recursive   bool      // rbind
	attrSet     uint64    // MOUNT_ATTR_* to set recursively (rro, rnosuid, ...)
	attrClr     uint64    // MOUNT_ATTR_* to clear recursively (rrw, rsuid, ...)
	atime       uint64    // MOUNT_ATTR_NOATIME/RELATIME/STRICTATIME when hasAtime
	hasAtime    bool      // an ratime option (rnoatime, rrelatime, ...) was given
	data        []string  // everything else, for the filesystem (mode=755, size=65536k)
	unsupported []string  // options hako knows but cannot honour
	copyUp      bool      // tmpcopyup: fill a new tmpfs with what the image has there
	idmap       bool      // idmap or ridmap: an idmapped mount
	ridmap      bool      // ridmap: idmapped recursively (an rbind's submounts too)
}

type flagOpt struct {
	clear bool
	flag  uintptr
}

var flagOptions = map[string]flagOpt{
	"defaults":      {false, 0},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"atime":         {true, unix.MS_NOATIME},
	"noatime":       {false, unix.MS_NOATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
	"iversion":      {false, unix.MS_I_VERSION},
	"noiversion":    {true, unix.MS_I_VERSION},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
}

var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_REC | unix.MS_PRIVATE,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_REC | unix.MS_SLAVE,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_REC | unix.MS_SHARED,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_REC | unix.MS_UNBINDABLE,
}

type attrOpt struct {
	clear bool
	attr  uint64
}

// recursiveOptions are applied with mount_setattr(AT_RECURSIVE) to the
// mount and every mount below it (Linux 5.12+).
var recursiveOptions = map[string]attrOpt{
	"rro":          {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":          {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":      {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":        {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":       {false, unix.MOUNT_ATTR_NODEV},
	"rdev":         {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":      {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":        {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":  {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":    {true, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow": {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":   {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

// recursiveAtime are the recursive atime modes; they are one field of the
// mount attributes, so setting one replaces the others.
var recursiveAtime = map[string]uint64{
	"rnoatime":     unix.MOUNT_ATTR_NOATIME,
	"rrelatime":    unix.MOUNT_ATTR_RELATIME,
	"ratime":       unix.MOUNT_ATTR_RELATIME,
	"rstrictatime": unix.MOUNT_ATTR_STRICTATIME,
}

// unsupportedOptions are runtime extensions (runc, crun) hako does not
// implement; passing them to the kernel would give a confusing EINVAL.
var unsupportedOptions = map[string]bool{
	"tmpcopyup":    true,
	"copy-symlink": true,
}

const atimeFlags = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME

// parseOptions splits a mounts[i].options list into flags, propagation,
// recursive attributes and the data string. Later options win over earlier
// ones, as with mount(8).
func parseOptions(opts []string) options {
	var o options
	for _, opt := range opts {
		switch opt {
		case "bind":
			o.bind = true
			continue
		case "rbind":
			o.bind, o.recursive = true, true
			continue
		case "tmpcopyup":
			o.copyUp = true
			continue
		case "notmpcopyup":
			o.copyUp = false
			continue
		case "":
			continue
		}
		if f, ok := flagOptions[opt]; ok {
			if f.clear {
				o.flags &^= f.flag
				o.clear |= f.flag
			} else {
				if f.flag&atimeFlags != 0 {
					// The atime modes exclude each other.
					o.flags &^= atimeFlags
					o.clear |= atimeFlags &^ f.flag
				}
				o.flags |= f.flag
				o.clear &^= f.flag
			}
			continue
		}
		if p, ok := propagationOptions[opt]; ok {
			o.propagation = append(o.propagation, p)
			continue
		}
		if a, ok := recursiveOptions[opt]; ok {
			if a.clear {
				o.attrSet &^= a.attr
				o.attrClr |= a.attr
			} else {
				o.attrSet |= a.attr
				o.attrClr &^= a.attr
			}
			continue
		}
		if a, ok := recursiveAtime[opt]; ok {
			o.atime, o.hasAtime = a, true
			continue
		}
		if opt == "idmap" || opt == "ridmap" {
			o.idmap, o.ridmap = true, opt == "ridmap"
			continue
		}
		if unsupportedOptions[opt] {
			o.unsupported = append(o.unsupported, opt)
			continue
		}
		if strings.HasPrefix(opt, "x-") || strings.HasPrefix(opt, "X-") {
			continue // userspace-only options of mount(8), never for the kernel
		}
		o.data = append(o.data, opt)
	}
	return o
}

// dataString is the comma-joined filesystem data, e.g. "mode=755,size=65536k".
func (o *options) dataString() string { return strings.Join(o.data, ",") }

// recursiveAttr is the mount_setattr(2) argument for the r* options, or nil
// when none was given.
func (o *options) recursiveAttr() *unix.MountAttr {
	if o.attrSet == 0 && o.attrClr == 0 && !o.hasAtime {
		return nil
	}
	a := &unix.MountAttr{Attr_set: o.attrSet, Attr_clr: o.attrClr}
	if o.hasAtime {
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= o.atime
	}
	return a
}

// Options lists, sorted, the mounts[].options hako honours itself (the
// rest go to the filesystem as data): for `hako features`.
func Options() []string {
	out := []string{"bind", "rbind", "tmpcopyup", "idmap", "ridmap"}
	for _, m := range []map[string]bool{
		keys(flagOptions), keys(propagationOptions), keys(recursiveOptions), keys(recursiveAtime),
	} {
		for k := range m {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
