package validate

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// checkInRootfs runs the checks that look into the root filesystem.
func (c *checker) checkInRootfs() {
	// root.path itself may be a symlink (the runtime resolves it on the
	// host, as runc does); only paths inside the rootfs are confined.
	root := filepath.Clean(c.rootfs)
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	r := rootfsFS{root: root}
	p := c.s.Process
	if p != nil {
		cwd := "/"
		if isAbs(p.Cwd) {
			cwd = path.Clean(p.Cwd)
			c.checkCwd(r, cwd)
		}
		if len(p.Args) > 0 && p.Args[0] != "" {
			c.checkArgs0(r, p.Args[0], cwd, p.Env)
		}
		if p.User.Username != "" {
			c.checkUsername(r, p.User.Username, p.User.UID)
		}
	}
	for _, l := range c.hookLists() {
		if !l.inContainer {
			continue
		}
		for i, h := range l.hooks {
			if isAbs(h.Path) && !r.exists(h.Path) {
				c.errorf(indexPath("hooks."+l.name, i)+".path", ruleHooks, "startContainer hooks run inside the container: the program must be in the rootfs",
					"%q: no such file or directory in the rootfs", h.Path)
			}
		}
	}
}

func (c *checker) checkCwd(r rootfsFS, cwd string) {
	_, fi, err := r.resolve(cwd)
	switch {
	case err != nil && isNotExist(err):
		c.errorf("process.cwd", ruleProcess, fmt.Sprintf("create it: mkdir -p %s", filepath.Join(r.root, cwd)),
			"the working directory %q does not exist in the rootfs (no such file or directory)", cwd)
	case err != nil:
		c.errorf("process.cwd", ruleProcess, "", "cannot resolve the working directory %q in the rootfs: %s", cwd, errText(err))
	case !fi.IsDir():
		c.errorf("process.cwd", ruleProcess, "cwd must name a directory", "the working directory %q is not a directory in the rootfs", cwd)
	}
}

func (c *checker) checkArgs0(r rootfsFS, name, cwd string, env []string) {
	const p = "process.args[0]"
	pathEnv, ok := envValue(env, "PATH")
	searched := pathEnv + " inside the rootfs"
	if !ok {
		pathEnv = DefaultPATH
		searched = "the default PATH " + pathEnv + " inside the rootfs, since process.env sets no PATH"
	}
	ctr, hp, res := r.lookup(name, cwd, pathEnv)
	slash := strings.Contains(name, "/")
	switch res {
	case lookNotFound:
		if slash {
			hint := "check the path, or install the program in the rootfs"
			full := name
			if !path.IsAbs(full) {
				full = path.Join(cwd, full)
			}
			if s, ok := closest(path.Base(full), r.names(path.Dir(full))); ok {
				hint = fmt.Sprintf("did you mean %q?", path.Join(path.Dir(full), s))
			}
			c.errorf(p, ruleProcess, hint, "%q: no such file or directory in the rootfs", name)
			return
		}
		hint := "install it in the rootfs, or write its full path in process.args[0]"
		var cands []string
		where := map[string]string{}
		for _, dir := range strings.Split(pathEnv, ":") {
			if !path.IsAbs(dir) {
				dir = path.Join(cwd, dir)
			}
			for _, n := range r.names(dir) {
				if _, seen := where[n]; !seen {
					where[n] = path.Join(dir, n)
					cands = append(cands, n)
				}
			}
		}
		if s, ok := closest(name, cands); ok {
			hint = fmt.Sprintf("did you mean %q (%s)?", s, where[s])
		} else if !ok && slashLess(name) {
			for _, dir := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/opt", "/app"} {
				if r.exists(path.Join(dir, name)) && !strings.Contains(":"+pathEnv+":", ":"+dir+":") {
					hint = fmt.Sprintf("%s exists but %s is not in PATH: add it to PATH in process.env, or write the full path", path.Join(dir, name), dir)
					break
				}
			}
		}
		c.errorf(p, ruleProcess, hint, "%q: executable file not found in $PATH (searched %s)", name, searched)
	case lookNotExecutable:
		c.errorf(p, ruleProcess, "make it executable: chmod +x FILE in the rootfs",
			"%q: permission denied: the file in the rootfs is not executable", name)
	case lookIsDir:
		c.errorf(p, ruleProcess, "name the program, not its directory", "%q: is a directory, not a program", name)
	case lookFound:
		c.checkInterpreter(r, name, ctr, hp, cwd, pathEnv)
	}
}

func slashLess(s string) bool { return !strings.Contains(s, "/") }

// checkInterpreter catches the most puzzling exec failure: the program
// exists, but its "#!" interpreter or its ELF loader does not, and exec
// says "no such file or directory" about a file that is right there.
func (c *checker) checkInterpreter(r rootfsFS, name, ctr, hp, cwd, pathEnv string) {
	const p = "process.args[0]"
	kind, interp, arg := interpreter(hp)
	if kind == "elf" && !runsNatively(arg) {
		what := fmt.Sprintf("%q", name)
		if ctr != name {
			what += " (" + ctr + ")"
		}
		msg := fmt.Sprintf("%s is a program for %s, and this machine is %s: exec would fail with \"exec format error\"", what, strings.TrimPrefix(arg, "EM_"), runtime.GOARCH)
		hint := "use an image built for linux/" + runtime.GOARCH
		if binfmtHandlers() {
			c.warnf(p, ruleExecve, hint+"; binfmt_misc handlers are registered, so an emulator may run it", "%s", msg)
		} else {
			c.errorf(p, ruleExecve, hint, "%s", msg)
		}
		return
	}
	if interp == "" {
		return
	}
	what := fmt.Sprintf("%q", name)
	if ctr != name {
		what += " (" + ctr + ")"
	}
	switch kind {
	case "script":
		if !path.IsAbs(interp) {
			interp = path.Join(path.Dir(ctr), interp)
		}
		if _, _, res := r.lookup(interp, cwd, pathEnv); res != lookFound {
			hint := "install the interpreter in the rootfs, or change the script's first line"
			if r.exists("/bin/sh") && interp != "/bin/sh" {
				hint += " (the rootfs has /bin/sh)"
			}
			c.errorf(p, ruleExecve, hint, "%s starts with \"#!%s\", which is not in the rootfs: exec would fail with \"no such file or directory\"", what, interp)
			return
		}
		if path.Base(interp) == "env" && arg != "" && !strings.HasPrefix(arg, "-") {
			if _, _, res := r.lookup(arg, cwd, pathEnv); res != lookFound {
				c.errorf(p, ruleExecve, "install "+arg+" in the rootfs", "%s runs \"#!%s %s\", and %q: executable file not found in $PATH", what, interp, arg, arg)
			}
		}
	case "elf":
		if !r.exists(interp) {
			c.errorf(p, ruleExecve, "add the C library the program was built against to the rootfs, or build it statically (for Go: CGO_ENABLED=0)",
				"%s is dynamically linked and its loader %s is not in the rootfs: exec would fail with \"no such file or directory\"", what, interp)
		}
	}
}

func (c *checker) checkUsername(r rootfsFS, name string, uid uint32) {
	const p = "process.user.username"
	hp, _, err := r.resolve("/etc/passwd")
	if err != nil {
		c.errorf(p, rulePOSIXUser, "add /etc/passwd to the rootfs, or use process.user.uid alone", "cannot look up user %q: the rootfs has no /etc/passwd", name)
		return
	}
	f, err := os.Open(hp)
	if err != nil {
		c.errorf(p, rulePOSIXUser, "", "cannot look up user %q: %s", name, errText(err))
		return
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if fields[0] == name {
			if id, err := strconv.ParseUint(fields[2], 10, 32); err == nil && uint32(id) != uid {
				c.warnf(p, rulePOSIXUser, fmt.Sprintf("set process.user.uid to %d", id),
					"user %q has uid %d in /etc/passwd, but process.user.uid is %d; Linux runtimes use the uid", name, id, uid)
			}
			return
		}
		names = append(names, fields[0])
	}
	hint := "add the user to the rootfs's /etc/passwd, or use process.user.uid"
	if s, ok := closest(name, names); ok {
		hint = fmt.Sprintf("did you mean %q?", s)
	}
	c.errorf(p, rulePOSIXUser, hint, "user %q is not in the rootfs's /etc/passwd", name)
}
