package runtime

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// processEnv is the environment a container's process gets, as runc 1.2+
// makes it: each name once, with its last value, in the order of the last
// occurrences (a value may hold newlines); and HOME, when unset or empty,
// the home directory of process.user.uid in the container's /etc/passwd
// ("/" for a uid it lacks). field names env in errors.
func processEnv(field string, env []string, uid uint32, rootfs string, mounts []specs.Mount) ([]string, error) {
	out := make([]string, 0, len(env)+1)
	seen := make(map[string]bool, len(env))
	home := false
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		name, value, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("%s[%d] %q: no '=' — hint: write NAME=value", field, i, kv)
		case name == "":
			return nil, fmt.Errorf("%s[%d] %q: the name is empty", field, i, kv)
		case strings.IndexByte(kv, 0) >= 0:
			return nil, fmt.Errorf("%s[%d] %q: contains a NUL byte, which execve(2) cannot pass", field, i, kv)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		if name == "HOME" {
			if value == "" {
				continue // replaced below, as if unset
			}
			home = true
		}
		out = append(out, kv)
	}
	slices.Reverse(out)
	if !home {
		out = append(out, "HOME="+homeOf(uid, rootfs, mounts))
	}
	return out, nil
}

// homeOf is uid's home directory in the container's /etc/passwd: a file
// bind-mounted there by the config (as engines do), else the rootfs's own,
// resolved inside the rootfs; "/" when there is none or it lacks the uid.
func homeOf(uid uint32, rootfs string, mounts []specs.Mount) string {
	var f *os.File
	for i := len(mounts) - 1; i >= 0; i-- {
		m := mounts[i]
		if path.Clean("/"+m.Destination) == "/etc/passwd" && m.Source != "" && (m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")) {
			f, _ = os.Open(m.Source)
			break
		}
	}
	if f == nil && rootfs != "" {
		root, err := os.Open(rootfs)
		if err != nil {
			return "/"
		}
		fd, err := unix.Openat2(int(root.Fd()), "etc/passwd", &unix.OpenHow{
			Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		root.Close()
		if err != nil {
			return "/"
		}
		f = os.NewFile(uintptr(fd), "etc/passwd")
	}
	if f == nil {
		return "/"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 6 {
			continue
		}
		if u, err := strconv.ParseUint(fields[2], 10, 32); err == nil && uint32(u) == uid && fields[5] != "" {
			return fields[5]
		}
	}
	return "/"
}
