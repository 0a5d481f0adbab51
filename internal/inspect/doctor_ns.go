package inspect

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/hako-dev/hako/internal/timerslack"
)

// nsFiles maps the spec's namespace types to their /proc/self/ns names.
var nsFiles = []struct{ typ, file string }{
	{"pid", "pid"}, {"mount", "mnt"}, {"network", "net"}, {"ipc", "ipc"},
	{"uts", "uts"}, {"user", "user"}, {"cgroup", "cgroup"}, {"time", "time"},
}

func (h Host) checkNamespaces() []Check {
	var out []Check
	for _, ns := range nsFiles {
		c := Check{Name: "namespace " + ns.typ, Status: OK, What: "available"}
		if _, err := os.Lstat(h.proc("self", "ns", ns.file)); err != nil {
			c.What = "not available (no /proc/self/ns/" + ns.file + ")"
			switch ns.typ {
			case "pid", "mount":
				c.Status, c.Hint = Fail, "every container needs it; the kernel lacks CONFIG_"+map[string]string{"pid": "PID_NS", "mount": "NAMESPACES"}[ns.typ]
			case "time":
				c.Status, c.Hint = Warn, "Linux 5.6 or later; linux.timeOffsets cannot be used"
			default:
				c.Status, c.Hint = Warn, "configs that list a "+ns.typ+" namespace will fail"
			}
		}
		out = append(out, c)
	}
	return out
}

// checkUserNamespaces reads the sysctls that gate user namespaces and, when
// probing, creates one.
func (h Host) checkUserNamespaces() Check {
	c := Check{Name: "user namespaces", Status: OK}
	var why string
	if v, err := readTrim(h.proc("sys", "user", "max_user_namespaces")); err == nil && v == "0" {
		why = "user.max_user_namespaces is 0"
	}
	unpriv := "allowed"
	if v, err := readTrim(h.proc("sys", "kernel", "unprivileged_userns_clone")); err == nil && v == "0" {
		unpriv = "disabled (kernel.unprivileged_userns_clone=0)"
	}
	if v, err := readTrim(h.proc("sys", "kernel", "apparmor_restrict_unprivileged_userns")); err == nil && v == "1" {
		unpriv = "restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns=1)"
	}
	if why == "" && h.Probe {
		if err := probeUserNS(); err != nil {
			why = "creating one failed: " + err.Error()
		}
	}
	switch {
	case why != "" && h.Euid != 0:
		c.Status, c.What = Fail, why
		c.Hint = "without root, containers need user namespaces: sysctl -w user.max_user_namespaces=15000"
	case why != "":
		c.Status, c.What = Warn, why
		c.Hint = "configs with a user namespace (rootless, uidMappings) will fail: sysctl -w user.max_user_namespaces=15000"
	case unpriv != "allowed" && h.Euid != 0:
		c.Status, c.What = Fail, "unprivileged user namespaces are "+unpriv
		c.Hint = "sysctl -w kernel.unprivileged_userns_clone=1, or run as root"
	case unpriv != "allowed":
		c.Status, c.What = Warn, "available to root; unprivileged ones are "+unpriv
		c.Hint = "rootless containers need unprivileged user namespaces: sysctl -w kernel.unprivileged_userns_clone=1"
	default:
		c.What = "available, also to unprivileged users"
	}
	return c
}

// probeUserNS starts a short-lived process in a new user namespace.
func probeUserNS() error {
	bin := ""
	for _, p := range []string{"/bin/true", "/usr/bin/true"} {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return nil // nothing to run; rely on the sysctls
	}
	cmd := exec.Command(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	err := timerslack.Fork(cmd.Run)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s exited with %d", bin, ee.ExitCode())
	}
	return err
}
