package security

import (
	"fmt"
	"syscall"
	"unsafe"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/sysprog"
)

// The Compile functions append to a setup program (package sysprog) what
// ApplyRlimits, ChangeUser, SetNoNewPrivileges and a seccomp loader do, in
// the same order and with the same checks: the checks that only need the
// configuration and the runtime's own credentials (which the child shares)
// run now, in the parent; the child's failures come back as the same
// messages.

func errnoMsg(format string, args ...any) sysprog.Fail {
	msg := fmt.Sprintf(format, args...)
	return func(errno syscall.Errno) error { return fmt.Errorf("%s: %w", msg, errno) }
}

// CompileRlimits appends process.rlimits.
func CompileRlimits(p *sysprog.Program, rl []specs.POSIXRlimit) error {
	// The hard limit each resource will have when its entry runs: an
	// earlier entry may have lowered it.
	hard := map[int]uint64{}
	for i, r := range rl {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		res, old, err := checkRlimit(field, r)
		if err != nil {
			return err
		}
		if h, ok := hard[res]; ok {
			old.Max = h
		}
		hard[res] = r.Hard
		if r.Hard > old.Max && !hasCap(unix.CAP_SYS_RESOURCE) {
			return fmt.Errorf("%s: raising the %s hard limit from %s to %d needs CAP_SYS_RESOURCE: %w "+
				"(this host's bounding set may lack CAP_SYS_RESOURCE; lower %s.hard to at most %s)",
				field, r.Type, limitString(old.Max), r.Hard, unix.EPERM, field, limitString(old.Max))
		}
		p.Call(errnoMsg("%s: setting %s to soft %d, hard %d", field, r.Type, r.Soft, r.Hard),
			unix.SYS_PRLIMIT64, sysprog.Imm(0), sysprog.Imm(res), sysprog.Value(p, &unix.Rlimit{Cur: r.Soft, Max: r.Hard}), sysprog.Imm(0))
	}
	return nil
}

func hasCap(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil {
		return false
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0
}

// CompileSeccomp returns a function that appends the op loading the BPF
// program filter, compiled beforehand (package internal/seccomp), with the
// seccomp(2) flags; nil for no filter.
func CompileSeccomp(filter []unix.SockFilter, flags uint) func(p *sysprog.Program) {
	if len(filter) == 0 {
		return nil
	}
	return func(p *sysprog.Program) {
		p.Call(func(errno syscall.Errno) error { return loadError(errno) },
			unix.SYS_SECCOMP, sysprog.Imm(unix.SECCOMP_SET_MODE_FILTER), sysprog.Imm(flags), p.Filter(filter))
	}
}

// CompileSeccompListener appends the loading of a filter with
// SECCOMP_FILTER_FLAG_NEW_LISTENER, and returns the register that holds
// the listener.
func CompileSeccompListener(p *sysprog.Program, filter []unix.SockFilter, flags uint) sysprog.Reg {
	return p.Result(func(errno syscall.Errno) error { return loadError(errno) },
		unix.SYS_SECCOMP, sysprog.Imm(unix.SECCOMP_SET_MODE_FILTER), sysprog.Imm(flags|unix.SECCOMP_FILTER_FLAG_NEW_LISTENER), p.Filter(filter))
}

func loadError(errno syscall.Errno) error {
	hint := ""
	switch errno {
	case unix.EACCES:
		hint = " (a filter can only be loaded with no_new_privs set or with CAP_SYS_ADMIN: load it before capabilities are dropped, or set process.noNewPrivileges)"
	case unix.EINVAL:
		hint = " (the kernel refused the filter or one of linux.seccomp.flags)"
	}
	return fmt.Errorf("linux.seccomp: loading the filter: %w%s", errno, hint)
}

// CompileNoNewPrivileges appends prctl(PR_SET_NO_NEW_PRIVS).
func CompileNoNewPrivileges(p *sysprog.Program) {
	p.Call(errnoMsg("process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)"), unix.SYS_PRCTL, sysprog.Imm(unix.PR_SET_NO_NEW_PRIVS), sysprog.Imm(1), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
}

// CompileUser appends what ChangeUser does, in its order.
func CompileUser(p *sysprog.Program, u specs.User, caps *specs.LinuxCapabilities) error {
	return compileUser(p, u, caps, false)
}

// CompileUserInNamespace is CompileUser for a process in a user namespace
// it made or joined: it holds every capability there, whatever the
// runtime's own sets (here, say, without CAP_SYS_RESOURCE) are.
func CompileUserInNamespace(p *sysprog.Program, u specs.User, caps *specs.LinuxCapabilities) error {
	return compileUser(p, u, caps, true)
}

func compileUser(p *sysprog.Program, u specs.User, caps *specs.LinuxCapabilities, inUserNS bool) error {
	last, sets, cur, err := checkUser(u, caps, inUserNS)
	if err != nil {
		return err
	}
	prctl := func(fail sysprog.Fail, a ...uintptr) {
		args := []sysprog.Arg{}
		for _, v := range a {
			args = append(args, sysprog.Imm(v))
		}
		for len(args) < 5 {
			args = append(args, sysprog.Imm(0))
		}
		p.Call(fail, unix.SYS_PRCTL, args...)
	}
	prctl(errnoMsg("process.user: prctl(PR_SET_KEEPCAPS, 1)"), unix.PR_SET_KEEPCAPS, 1)
	keep := sets.bounding.mask()
	for c := capability.Cap(0); c <= last; c++ {
		if keep.has(c) || !cur.bounding.has(c) {
			continue
		}
		prctl(func(errno syscall.Errno) error {
			hint := ""
			if errno == unix.EPERM {
				hint = " (dropping from the bounding set needs CAP_SETPCAP)"
			}
			return fmt.Errorf("process.capabilities.bounding: dropping %s: %w%s", capName(c), errno, hint)
		}, unix.PR_CAPBSET_DROP, uintptr(c))
		p.Tolerate(unix.EINVAL)
	}
	gids := u.AdditionalGids
	if len(gids) > 0 {
		p.Call(func(errno syscall.Errno) error {
			return fmt.Errorf("process.user.additionalGids: setgroups: %w", errno)
		}, unix.SYS_SETGROUPS, sysprog.Imm(len(gids)), p.Bytes(unsafe.Slice((*byte)(unsafe.Pointer(&gids[0])), 4*len(gids))))
	} else {
		p.Call(nil, unix.SYS_SETGROUPS, sysprog.Imm(0), sysprog.Imm(0))
		p.Tolerate(unix.EPERM)
	}
	idFail := func(what string, id uint32, call, mapping string) sysprog.Fail {
		return func(errno syscall.Errno) error {
			return fmt.Errorf("process.user.%s: %s(%d): %w%s", what, call, id, errno, idHint(errno, what, mapping))
		}
	}
	p.Call(idFail("gid", u.GID, "setresgid", "gidMappings"), unix.SYS_SETRESGID, sysprog.Imm(u.GID), sysprog.Imm(u.GID), sysprog.Imm(u.GID))
	p.Call(idFail("uid", u.UID, "setresuid", "uidMappings"), unix.SYS_SETRESUID, sysprog.Imm(u.UID), sysprog.Imm(u.UID), sysprog.Imm(u.UID))
	eff, perm, inh := sets.effective.mask(), sets.permitted.mask(), sets.inheritable.mask()
	hdr := sysprog.Value(p, &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3})
	data := sysprog.Value(p, &[2]unix.CapUserData{
		{Effective: uint32(eff), Permitted: uint32(perm), Inheritable: uint32(inh)},
		{Effective: uint32(eff >> 32), Permitted: uint32(perm >> 32), Inheritable: uint32(inh >> 32)},
	})
	p.Call(errnoMsg("process.capabilities: capset"), unix.SYS_CAPSET, hdr, data)
	prctl(errnoMsg("process.user: prctl(PR_SET_KEEPCAPS, 0)"), unix.PR_SET_KEEPCAPS, 0)
	prctl(errnoMsg("%s: clearing the ambient set", sets.ambient.field), unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL)
	if len(sets.ambient.caps) == 0 {
		p.Tolerate(unix.EINVAL)
	}
	for i, c := range sets.ambient.caps {
		prctl(errnoMsg("%s: raising %s", sets.ambient.path(i), capName(c)), unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c))
	}
	if u.Umask != nil {
		p.Call(nil, unix.SYS_UMASK, sysprog.Imm(*u.Umask))
	}
	return nil
}
