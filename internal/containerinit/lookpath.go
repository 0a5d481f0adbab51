package containerinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath resolves process.args[0] after pivot_root, so it can only see
// the container's files. Its messages keep runc's wording, which docker maps
// to exit code 127: "executable file not found in $PATH" and
// "no such file or directory".
func lookPath(name string, env []string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("process.args[0] is empty")
	}
	if strings.Contains(name, "/") {
		if err := checkExec(name); err != nil {
			return "", &wrapped{msg: fmt.Sprintf("process.args[0] %q: %s", name, execProblem(err)), err: err}
		}
		return name, nil
	}
	path := defaultPath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	var firstErr error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		err := checkExec(p)
		if err == nil {
			return p, nil
		}
		if firstErr == nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			firstErr = fmt.Errorf("%s: %s", p, execProblem(err))
		}
	}
	msg := fmt.Sprintf("exec: %q: executable file not found in $PATH (searched %s in the container's rootfs)", name, path)
	if firstErr != nil {
		msg += "; " + firstErr.Error()
	}
	return "", &wrapped{msg: msg + " — hint: install it in the image or give process.args[0] as an absolute path", err: unix.ENOENT}
}

func checkExec(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return unix.EISDIR
	}
	if !fi.Mode().IsRegular() {
		return unix.EACCES
	}
	return unix.Access(p, unix.X_OK)
}

func execProblem(err error) string {
	switch {
	case errors.Is(err, unix.ENOENT):
		return "no such file or directory"
	case errors.Is(err, unix.EACCES):
		return "permission denied: not an executable regular file, or its mode lacks x for the container's user"
	case errors.Is(err, unix.EISDIR):
		return "is a directory"
	}
	return err.Error()
}

// execError explains a failed execve; the checks above make it rare
// (e.g. a binary for another architecture, or a missing ELF interpreter).
func execError(arg0, path string, err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err
	}
	msg := fmt.Sprintf("exec %q (%s): %s (%s)", arg0, path, errno.Error(), unix.ErrnoName(errno))
	switch errno {
	case unix.ENOENT:
		msg = fmt.Sprintf("exec %q: no such file or directory — hint: the file exists, so its interpreter (#! line or ELF loader) is missing from the rootfs", path)
	case unix.ENOEXEC:
		msg += " — hint: is it built for this architecture, or a script without a #! line?"
	}
	return &wrapped{msg: msg, err: err}
}
