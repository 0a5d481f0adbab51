package inspect

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// checkUser: root, or rootless; and the capabilities a root runtime needs.
func (h Host) checkUser() []Check {
	if h.Euid != 0 {
		return []Check{{Name: "user", Status: Warn, What: fmt.Sprintf("running as uid %d, not root", h.Euid),
			Hint: "hako runs rootless containers only (user namespaces, `hako spec --rootless`); run as root for the rest"}}
	}
	out := []Check{{Name: "user", Status: OK, What: "running as root"}}
	eff, bnd, err := h.capSets()
	if err != nil {
		return append(out, Check{Name: "capabilities", Status: Warn, What: "cannot read them: " + err.Error()})
	}
	var missingEff, missingBnd []string
	for _, c := range []capability.Cap{capability.CAP_SYS_ADMIN, capability.CAP_SETUID, capability.CAP_SETGID, capability.CAP_SYS_CHROOT, capability.CAP_MKNOD, capability.CAP_NET_ADMIN, capability.CAP_SYS_RESOURCE} {
		name := "CAP_" + strings.ToUpper(c.String())
		if eff&(1<<uint(c)) == 0 {
			missingEff = append(missingEff, name)
		}
		if bnd&(1<<uint(c)) == 0 {
			missingBnd = append(missingBnd, name)
		}
	}
	switch {
	case contains(missingEff, "CAP_SYS_ADMIN"):
		out = append(out, Check{Name: "capabilities", Status: Fail, What: "root without CAP_SYS_ADMIN (missing: " + strings.Join(missingEff, ", ") + ")",
			Hint: "run hako with full capabilities (e.g. a privileged container on the outside)"})
	case len(missingEff) > 0 || len(missingBnd) > 0:
		missing := union(missingEff, missingBnd)
		hint := "containers cannot be given these"
		if contains(missing, "CAP_SYS_RESOURCE") {
			hint = "without CAP_SYS_RESOURCE, process.rlimits cannot raise a hard limit above the current one"
		}
		out = append(out, Check{Name: "capabilities", Status: Warn, What: "missing " + strings.Join(missing, ", "), Hint: hint})
	default:
		out = append(out, Check{Name: "capabilities", Status: OK, What: "all the capabilities a runtime uses"})
	}
	return out
}

// capSets reads CapEff and CapBnd of this process.
func (h Host) capSets() (eff, bnd uint64, err error) {
	f, err := os.Open(h.proc("self", "status"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch k {
		case "CapEff":
			eff, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			found++
		case "CapBnd":
			bnd, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			found++
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if found != 2 {
		return 0, 0, errors.New("no CapEff/CapBnd in /proc/self/status")
	}
	return eff, bnd, sc.Err()
}

// KernelRelease is the running kernel's release, as `uname -r` prints it.
func KernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

// parseKernelVersion reads "6.1.0-18-amd64" as 6, 1.
func parseKernelVersion(rel string) (major, minor int, ok bool) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	m := parts[1]
	if i := strings.IndexFunc(m, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		m = m[:i]
	}
	minor, err2 := strconv.Atoi(m)
	return major, minor, err1 == nil && err2 == nil
}

func (h Host) checkKernel() Check {
	rel, err := readTrim(h.proc("sys", "kernel", "osrelease"))
	if err != nil {
		if rel, err = KernelRelease(); err != nil {
			return Check{Name: "kernel", Status: Warn, What: "cannot read the release: " + err.Error()}
		}
	}
	c := Check{Name: "kernel", Status: OK, What: "Linux " + rel}
	major, minor, ok := parseKernelVersion(rel)
	switch {
	case !ok:
		c.Status, c.Hint = Warn, "cannot parse the version"
	case major < 3 || (major == 3 && minor < 10):
		c.Status, c.Hint = Fail, "containers need Linux 3.10 or later"
	case major < 5 || (major == 5 && minor < 3):
		c.Status, c.Hint = Warn, "Linux 5.3 or later is recommended (pidfd, clone3; 5.6 for time namespaces)"
	}
	return c
}

func (h Host) checkOverlay() Check {
	data, err := os.ReadFile(h.proc("filesystems"))
	if err != nil {
		return Check{Name: "overlayfs", Status: Warn, What: "cannot read /proc/filesystems: " + err.Error()}
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == "overlay" {
			return Check{Name: "overlayfs", Status: OK, What: "available"}
		}
	}
	return Check{Name: "overlayfs", Status: Warn, What: "not in /proc/filesystems", Hint: "modprobe overlay (image layers and read-only runtime binaries use it)"}
}

func (h Host) checkSeccomp() []Check {
	var out []Check
	mode := ""
	if f, err := os.Open(h.proc("self", "status")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "Seccomp" {
				mode = strings.TrimSpace(v)
			}
		}
		f.Close()
	}
	switch mode {
	case "":
		out = append(out, Check{Name: "seccomp", Status: Warn, What: "the kernel reports no seccomp support (no Seccomp field in /proc/self/status)",
			Hint: "linux.seccomp cannot be applied; build the kernel with CONFIG_SECCOMP_FILTER"})
	case "0":
		out = append(out, Check{Name: "seccomp", Status: OK, What: "supported by the kernel"})
	default:
		out = append(out, Check{Name: "seccomp", Status: Warn, What: "supported, but hako itself already runs under a seccomp filter (mode " + mode + ")",
			Hint: "system calls the outer filter blocks stay blocked inside containers"})
	}
	if h.Libseccomp == nil {
		return out
	}
	lib := Check{Name: "libseccomp", Status: OK}
	v, where, err := h.Libseccomp()
	var major, minor int
	if err == nil {
		_, err = fmt.Sscanf(v, "%d.%d", &major, &minor)
	}
	switch {
	case err != nil:
		lib.Status, lib.What, lib.Hint = Warn, "cannot ask the helper hako-seccomp: "+err.Error(),
			"containers with linux.seccomp cannot be created; build hako with `make build`, which embeds hako-seccomp, or install hako-seccomp next to hako"
	case major < 2 || (major == 2 && minor < 5):
		lib.Status, lib.What, lib.Hint = Warn, v+" (in "+where+")", "libseccomp 2.5 or later is needed for SCMP_ACT_NOTIFY and recent system calls"
	default:
		lib.What = v + " (in " + where + ")"
	}
	return append(out, lib)
}

func (h Host) checkLSM() Check {
	var on []string
	if v, err := readTrim(h.sys("module", "apparmor", "parameters", "enabled")); err == nil && v == "Y" {
		on = append(on, "AppArmor")
	}
	if v, err := readTrim(h.sys("fs", "selinux", "enforce")); err == nil {
		mode := "permissive"
		if v == "1" {
			mode = "enforcing"
		}
		on = append(on, "SELinux ("+mode+")")
	}
	if len(on) == 0 {
		return Check{Name: "LSM", Status: Warn, What: "neither AppArmor nor SELinux is enabled",
			Hint: "process.apparmorProfile and process.selinuxLabel cannot be applied; leave them empty"}
	}
	return Check{Name: "LSM", Status: OK, What: strings.Join(on, ", ") + " enabled"}
}

// checkSyscalls tries pidfd_open and clone3, whose presence no file tells.
func (h Host) checkSyscalls() []Check {
	if !h.Probe {
		return nil
	}
	var out []Check
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err == nil {
		unix.Close(fd)
		out = append(out, Check{Name: "pidfd_open", Status: OK, What: "supported"})
	} else {
		out = append(out, Check{Name: "pidfd_open", Status: Warn, What: "not available: " + err.Error(),
			Hint: "Linux 5.3 or later; without it, signals to a container's process are racy against pid reuse"})
	}
	// clone3 with a size of 0 fails with EINVAL where it exists, and never
	// creates a process.
	_, _, errno := unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)
	switch errno {
	case unix.EINVAL, unix.EFAULT:
		out = append(out, Check{Name: "clone3", Status: OK, What: "supported"})
	default:
		out = append(out, Check{Name: "clone3", Status: Warn, What: "not available: " + errno.Error(),
			Hint: "Linux 5.3 or later (5.7 for CLONE_INTO_CGROUP); an outer seccomp profile may also block it"})
	}
	return out
}

func (h Host) checkIDMapTools() Check {
	var missing, found []string
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if p, err := h.LookPath(tool); err == nil {
			found = append(found, p)
		} else {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return Check{Name: "newuidmap/newgidmap", Status: OK, What: strings.Join(found, ", ")}
	}
	c := Check{Name: "newuidmap/newgidmap", Status: OK, What: strings.Join(missing, ", ") + " not installed (only rootless containers mapping more than one id need them)"}
	if h.Euid != 0 {
		c.Status, c.What = Warn, strings.Join(missing, ", ")+" not installed"
		c.Hint = "apt-get install uidmap: without it a rootless container maps only your own uid and gid"
	}
	return c
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, v := range b {
		if !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
