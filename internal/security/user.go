package security

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

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

// checkCapSets refuses, with the field to fix, what capset(2) would
// refuse with a bare EPERM. An ambient capability that is not also
// permitted and inheritable, which PR_CAP_AMBIENT_RAISE would refuse, is
// dropped with a warning, as runc (>= 1.1) does.
func checkCapSets(s *capSets, cur threadState) error {
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
	var amb capList
	amb.field = s.ambient.field
	for i, c := range s.ambient.caps {
		if !perm.has(c) || !inh.has(c) {
			slog.Warn("ambient capability not raised: it must also be permitted and inheritable (add it to process.capabilities.permitted and .inheritable)",
				"field", s.ambient.path(i), "capability", capName(c))
			continue
		}
		amb.caps = append(amb.caps, c)
		amb.index = append(amb.index, s.ambient.index[i])
	}
	s.ambient = amb
	return nil
}

// checkUser parses process.capabilities against the kernel's last
// capability and the caller's own sets, and checks the umask: everything
// ChangeUser and CompileUser refuse before they change anything.
func checkUser(u specs.User, caps *specs.LinuxCapabilities, inUserNS bool) (capability.Cap, capSets, threadState, error) {
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
	var cur threadState
	if inUserNS {
		// A process that makes or joins a user namespace holds every
		// capability there, the bounding set full too, whatever the
		// runtime's own sets are.
		all := capMask(1)<<(uint(last)+1) - 1
		cur = threadState{effective: all, permitted: all, bounding: all}
	} else if cur, err = threadCaps(last); err != nil {
		return 0, capSets{}, threadState{}, err
	}
	err = checkCapSets(&sets, cur)
	return last, sets, cur, err
}
