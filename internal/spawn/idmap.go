package spawn

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/mount"
	"github.com/hako-dev/hako/internal/sysprog"
)

// idmaps makes, for every idmapped mount of s, a user namespace with the
// mount's mappings (or, without, the container's) and puts its fd in the
// plan's set: mount.Config.IDMaps. Mounts with the same mappings share one.
func (pl *plan) idmaps(s *specs.Spec) (map[int]int, error) {
	var out map[int]int
	type made struct {
		uid, gid []specs.LinuxIDMapping
		fd       int
	}
	var done []made
	for i, m := range s.Mounts {
		if !mount.IDMapped(m) {
			continue
		}
		uid, gid := m.UIDMappings, m.GIDMappings
		if len(uid) == 0 && len(gid) == 0 {
			if !pl.ns.newUser {
				return nil, fmt.Errorf("mounts[%d]: an idmapped mount needs uidMappings and gidMappings, or a new user namespace to take the container's from — hint: give the mount its mappings", i)
			}
			uid, gid = pl.ns.uidMaps, pl.ns.gidMaps
		}
		if len(uid) == 0 || len(gid) == 0 {
			return nil, fmt.Errorf("mounts[%d]: uidMappings and gidMappings go together — hint: give both", i)
		}
		if out == nil {
			out = map[int]int{}
		}
		if j := slices.IndexFunc(done, func(d made) bool { return slices.Equal(d.uid, uid) && slices.Equal(d.gid, gid) }); j >= 0 {
			out[i] = done[j].fd
			continue
		}
		f, err := userNS(uid, gid)
		if err != nil {
			return nil, fmt.Errorf("mounts[%d]: making the user namespace of its idmapping: %w", i, err)
		}
		fd, err := pl.fds.high(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		out[i] = fd
		done = append(done, made{uid, gid, fd})
	}
	return out, nil
}

// userNS returns a user namespace with the mappings: that of a raw child
// made in it, which waits until it is killed once the parent has written
// its maps and opened the namespace.
func userNS(uid, gid []specs.LinuxIDMapping) (*os.File, error) {
	if !sysprog.Supported {
		return nil, errors.New("idmapped mounts need hako's raw child, which this architecture lacks")
	}
	parent, childEnd, err := sysprog.Pair()
	if err != nil {
		return nil, err
	}
	defer childEnd.Close()
	p := sysprog.New(int(childEnd.Fd()))
	p.Wait(nil)
	c, err := p.Start(unix.CLONE_NEWUSER, parent)
	if err != nil {
		return nil, err
	}
	defer func() {
		c.Signal(syscall.SIGKILL)
		c.Wait()
		c.Close()
	}()
	if err := writeIDMaps(c.Pid, uid, gid, ""); err != nil {
		return nil, err
	}
	return os.Open("/proc/" + strconv.Itoa(c.Pid) + "/ns/user")
}

// writeIDMaps writes the uid and gid maps of the user namespace of pid
// (field names the configuration they came from). As root it writes them
// itself and leaves /proc/PID/setgroups as it is. An unprivileged user may
// write only its own uid and gid, once each, with setgroups denied first;
// other mappings go through newuidmap and newgidmap, which allow what
// /etc/subuid and /etc/subgid grant the user.
func writeIDMaps(pid int, uid, gid []specs.LinuxIDMapping, field string) error {
	if os.Geteuid() != 0 && !(selfMap(uid, os.Geteuid()) && selfMap(gid, os.Getegid())) {
		return newIDMaps(pid, uid, gid, field)
	}
	if os.Geteuid() != 0 {
		if err := os.WriteFile("/proc/"+strconv.Itoa(pid)+"/setgroups", []byte("deny"), 0); err != nil {
			return &Error{Step: "writing a user namespace's id maps", Err: fmt.Errorf("denying setgroups (needed to write gid_map unprivileged): %w", err)}
		}
	}
	for _, m := range []struct {
		file, field string
		maps        []specs.LinuxIDMapping
	}{{"uid_map", field + "uid", uid}, {"gid_map", field + "gid", gid}} {
		var b []byte
		for _, x := range m.maps {
			b = fmt.Appendf(b, "%d %d %d\n", x.ContainerID, x.HostID, x.Size)
		}
		if err := os.WriteFile("/proc/"+strconv.Itoa(pid)+"/"+m.file, b, 0); err != nil {
			return &Error{Step: "writing a user namespace's id maps", Err: fmt.Errorf("%sMappings: %w", m.field, err)}
		}
	}
	return nil
}

// selfMap reports whether m maps one id to id itself, the one mapping an
// unprivileged user may write.
func selfMap(m []specs.LinuxIDMapping, id int) bool {
	return len(m) == 1 && m[0].Size == 1 && int(m[0].HostID) == id
}

// newIDMaps writes the maps through the setuid helpers newuidmap and
// newgidmap (package uidmap).
func newIDMaps(pid int, uid, gid []specs.LinuxIDMapping, field string) error {
	for _, m := range []struct {
		helper, field string
		maps          []specs.LinuxIDMapping
	}{{"newuidmap", field + "uidMappings", uid}, {"newgidmap", field + "gidMappings", gid}} {
		path, err := exec.LookPath(m.helper)
		if err != nil {
			return &Error{Step: "writing a user namespace's id maps", Err: fmt.Errorf("%s: an unprivileged user may map only its own id; other mappings need %s (Debian: apt install uidmap) and ranges in /etc/sub%sid — hint: map only your own id, as `hako spec --rootless` does", m.field, m.helper, m.helper[3:4])}
		}
		args := []string{strconv.Itoa(pid)}
		for _, x := range m.maps {
			args = append(args, strconv.FormatUint(uint64(x.ContainerID), 10), strconv.FormatUint(uint64(x.HostID), 10), strconv.FormatUint(uint64(x.Size), 10))
		}
		if out, err := exec.Command(path, args...).CombinedOutput(); err != nil {
			return &Error{Step: "writing a user namespace's id maps", Err: fmt.Errorf("%s: %s %s: %v: %s — hint: /etc/sub%sid must grant the ranges to this user", m.field, m.helper, strings.Join(args, " "), err, strings.TrimSpace(string(out)), m.helper[3:4])}
		}
	}
	return nil
}

// bindFDs clones, in the parent, the source of every bind mount that is
// not idmapped (open_tree, detached), for a runner in a user namespace:
// its root may not reach a source below a directory only the host's root
// may enter, as runc's mount sources are opened before the namespace is
// entered. A parent that may not clone mounts (an unprivileged user,
// whose runner's root reaches no more than the user does) leaves the
// source to the runner.
func (pl *plan) bindFDs(mounts []specs.Mount) (map[int]int, error) {
	var out map[int]int
	for i, m := range mounts {
		if !mount.IsBind(m) || mount.IDMapped(m) || m.Source == "" {
			continue
		}
		flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
		if mount.Recursive(m) {
			flags |= unix.AT_RECURSIVE
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source, uint(flags))
		if err == unix.EPERM || err == unix.ENOENT {
			continue // (ENOENT: an earlier mount makes it)
		}
		if err != nil {
			return nil, fmt.Errorf("mounts[%d]: cloning the bind source %q: %w", i, m.Source, err)
		}
		f := os.NewFile(uintptr(fd), "bind-source")
		high, err := pl.fds.high(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = map[int]int{}
		}
		out[i] = high
	}
	return out, nil
}
