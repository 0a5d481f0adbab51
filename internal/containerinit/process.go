package containerinit

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/initproto"
	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/security"
)

// prepareProcess does what the container's own process and an exec'd one
// share before they report ready: rlimits, the seccomp filter (loaded now
// when loading it needs privileges the process is about to lose), user,
// groups and capabilities, the working directory, and the executable's
// path. profile is linux.seccomp, sc the program the parent compiled from
// it. It returns the path and what is left of seccomp for lockDown.
func prepareProcess(p *specs.Process, profile *specs.LinuxSeccomp, sc *initproto.Seccomp) (path string, loadSeccomp func() error, err error) {
	if err := security.ApplyRlimits(p.Rlimits); err != nil {
		return "", nil, step("setting rlimits", err)
	}
	loadSeccomp = func() error { return nil }
	if profile != nil && sc == nil {
		return "", nil, step("loading the seccomp profile", errors.New("linux.seccomp is set but the parent sent no compiled filter (a hako parent of another version?)"))
	}
	if sc != nil {
		filter, err := seccomp.FilterOf(sc.Filter)
		if err != nil {
			return "", nil, step("loading the seccomp profile", err)
		}
		l := security.SeccompLoader(filter, sc.Flags)
		loadSeccomp = l
		if !p.NoNewPrivileges {
			// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN,
			// which the process may be about to lose.
			if err := l(); err != nil {
				return "", nil, step("loading the seccomp profile", err)
			}
			loadSeccomp = func() error { return nil }
		}
	}
	if err := security.ChangeUser(p.User, p.Capabilities); err != nil {
		return "", nil, step("changing user", err)
	}
	if err := enterCwd(p.Cwd); err != nil {
		return "", nil, step("entering the working directory", err)
	}
	path, err = lookPath(p.Args[0], p.Env)
	if err != nil {
		return "", nil, step("finding the executable", err)
	}
	return path, loadSeccomp, nil
}

// lockDown is the last step before execve: no_new_privs, the seccomp
// filter, and every fd above 2 and the preserved ones marked close-on-exec,
// so no host file leaks into the container (CVE-2024-21626).
func lockDown(p *specs.Process, loadSeccomp func() error, preserveFDs int) error {
	if err := unix.CloseRange(uint(3+preserveFDs), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return step("closing inherited fds", err)
	}
	if p.NoNewPrivileges {
		if err := security.SetNoNewPrivileges(); err != nil {
			return step("setting no_new_privs", err)
		}
	}
	if err := loadSeccomp(); err != nil {
		return step("loading the seccomp profile", err)
	}
	return nil
}
