package security

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ChangeUser switches the calling thread to process.user and gives it
// process.capabilities, in the one order that works:
//
//   - PR_SET_KEEPCAPS=1, so that the permitted set survives the uid change;
//   - every capability not in caps.Bounding is dropped from the bounding set;
//   - setgroups(additionalGids) (skipped when the kernel denies setgroups in
//     a user namespace and there are no additional gids to set);
//   - setresgid, then setresuid;
//   - the effective, permitted and inheritable sets exactly as listed;
//   - PR_SET_KEEPCAPS=0, then the ambient capabilities are raised;
//   - the umask, if process.user.umask is set.
//
// A nil caps drops every capability. The caller must hold the OS thread
// (see the package documentation).
func ChangeUser(u specs.User, caps *specs.LinuxCapabilities) error {
	last, sets, cur, err := checkUser(u, caps)
	if err != nil {
		return err
	}

	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("process.user: prctl(PR_SET_KEEPCAPS, 1): %w", err)
	}
	if err := dropBounding(sets.bounding.mask(), cur.bounding, last); err != nil {
		return err
	}
	if err := setGroups(u.AdditionalGids); err != nil {
		return err
	}
	if err := syscall.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("process.user.gid: setresgid(%d): %w%s", u.GID, err, idHint(err, "gid", "gidMappings"))
	}
	if err := syscall.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("process.user.uid: setresuid(%d): %w%s", u.UID, err, idHint(err, "uid", "uidMappings"))
	}
	if err := setCaps(sets.effective.mask(), sets.permitted.mask(), sets.inheritable.mask()); err != nil {
		return fmt.Errorf("process.capabilities: capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("process.user: prctl(PR_SET_KEEPCAPS, 0): %w", err)
	}
	if err := setAmbient(sets.ambient); err != nil {
		return err
	}
	if u.Umask != nil {
		syscall.Umask(int(*u.Umask))
	}
	return nil
}

func idHint(err error, what, mapping string) string {
	if errors.Is(err, unix.EINVAL) {
		return fmt.Sprintf(" (the %s is not mapped in the container's user namespace: add it to linux.%s)", what, mapping)
	}
	return ""
}

// threadState is the calling thread's capability state.
type threadState struct {
	effective, permitted, inheritable, bounding capMask
}

func threadCaps(last capability.Cap) (threadState, error) {
	var st threadState
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return st, fmt.Errorf("process.capabilities: capget: %w", err)
	}
	st.effective = capMask(data[0].Effective) | capMask(data[1].Effective)<<32
	st.permitted = capMask(data[0].Permitted) | capMask(data[1].Permitted)<<32
	st.inheritable = capMask(data[0].Inheritable) | capMask(data[1].Inheritable)<<32
	for c := capability.Cap(0); c <= last; c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err != nil {
			return st, fmt.Errorf("process.capabilities: prctl(PR_CAPBSET_READ, %s): %w", capName(c), err)
		}
		if in == 1 {
			st.bounding |= 1 << uint(c)
		}
	}
	return st, nil
}

// checkCapSets refuses, with the field to fix, what capset(2) or
// PR_CAP_AMBIENT_RAISE would refuse with a bare EPERM.
func checkCapSets(s capSets, cur threadState) error {
	const hostHint = "hako itself does not have it (this host's bounding set lacks it), so no container can get it: remove it"
	for i, c := range s.permitted.caps {
		if !cur.permitted.has(c) {
			return fmt.Errorf("%s: %s: %s", s.permitted.path(i), capName(c), hostHint)
		}
	}
	perm := s.permitted.mask()
	for i, c := range s.effective.caps {
		if !perm.has(c) {
			return fmt.Errorf("%s: %s is effective but not permitted: add it to process.capabilities.permitted", s.effective.path(i), capName(c))
		}
	}
	bnd := s.bounding.mask()
	for i, c := range s.inheritable.caps {
		if cur.inheritable.has(c) {
			continue
		}
		if !cur.permitted.has(c) {
			return fmt.Errorf("%s: %s: %s", s.inheritable.path(i), capName(c), hostHint)
		}
		if !bnd.has(c) {
			return fmt.Errorf("%s: %s is inheritable but not in the bounding set: add it to process.capabilities.bounding", s.inheritable.path(i), capName(c))
		}
	}
	inh := s.inheritable.mask()
	for i, c := range s.ambient.caps {
		if !perm.has(c) || !inh.has(c) {
			return fmt.Errorf("%s: %s is ambient, so it must also be in process.capabilities.permitted and process.capabilities.inheritable", s.ambient.path(i), capName(c))
		}
	}
	return nil
}

// dropBounding drops from the thread's bounding set every capability up to
// last that is not in keep. Capabilities already dropped are left alone, so
// that nothing is asked of a thread without CAP_SETPCAP when nothing has to
// change.
func dropBounding(keep, current capMask, last capability.Cap) error {
	for c := capability.Cap(0); c <= last; c++ {
		if keep.has(c) || !current.has(c) {
			continue
		}
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if err != nil && !errors.Is(err, unix.EINVAL) {
			hint := ""
			if errors.Is(err, unix.EPERM) {
				hint = " (dropping from the bounding set needs CAP_SETPCAP)"
			}
			return fmt.Errorf("process.capabilities.bounding: dropping %s: %w%s", capName(c), err, hint)
		}
	}
	return nil
}

func setGroups(gids []uint32) error {
	list := make([]int, len(gids))
	for i, g := range gids {
		list[i] = int(g)
	}
	err := syscall.Setgroups(list)
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EPERM) {
		if len(gids) == 0 {
			// A user namespace whose /proc/PID/setgroups is "deny"
			// (rootless): there is nothing to set anyway.
			return nil
		}
		return fmt.Errorf("process.user.additionalGids: setgroups: %w (in a user namespace with /proc/self/setgroups set to \"deny\", as for rootless containers, additional gids cannot be set: remove them)", err)
	}
	if errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("process.user.additionalGids: setgroups: %w (a gid is not mapped in the container's user namespace: add it to linux.gidMappings)", err)
	}
	return fmt.Errorf("process.user.additionalGids: setgroups: %w", err)
}

// setCaps sets the calling thread's effective, permitted and inheritable
// capabilities with capset(2).
func setCaps(eff, perm, inh capMask) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(eff), Permitted: uint32(perm), Inheritable: uint32(inh)},
		{Effective: uint32(eff >> 32), Permitted: uint32(perm >> 32), Inheritable: uint32(inh >> 32)},
	}
	return unix.Capset(&hdr, &data[0])
}

func setAmbient(l capList) error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		if errors.Is(err, unix.EINVAL) && len(l.caps) == 0 {
			return nil // a kernel without ambient capabilities (before 4.3)
		}
		return fmt.Errorf("%s: clearing the ambient set: %w", l.field, err)
	}
	for i, c := range l.caps {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("%s: raising %s: %w", l.path(i), capName(c), err)
		}
	}
	return nil
}

// SetNoNewPrivileges sets no_new_privs on the calling thread
// (process.noNewPrivileges); execve passes it on to the container's process.
func SetNoNewPrivileges() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	return nil
}

// checkUser parses process.capabilities against the kernel's last
// capability and the caller's own sets, and checks the umask: everything
// ChangeUser and CompileUser refuse before they change anything.
func checkUser(u specs.User, caps *specs.LinuxCapabilities) (capability.Cap, capSets, threadState, error) {
	last, err := capability.LastCap()
	if err != nil {
		return 0, capSets{}, threadState{}, fmt.Errorf("process.capabilities: finding the kernel's last capability: %w", err)
	}
	sets, err := parseCapabilities(caps, last)
	if err != nil {
		return 0, capSets{}, threadState{}, err
	}
	if u.Umask != nil && *u.Umask > 0o777 {
		return 0, capSets{}, threadState{}, fmt.Errorf("process.user.umask: %#o is not a file mode (at most 0777)", *u.Umask)
	}
	cur, err := threadCaps(last)
	if err != nil {
		return 0, capSets{}, threadState{}, err
	}
	return last, sets, cur, checkCapSets(sets, cur)
}
