package validate

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// DefaultPATH is the search path for process.args[0] when process.env sets
// no PATH (the one runc's and docker's default configurations set).
const DefaultPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// rootfsFS resolves container paths inside a root filesystem on the host,
// with every symlink resolved as if the rootfs were "/" (never to the host).
type rootfsFS struct{ root string }

// resolve returns the host path of container path p (absolute) and its
// Lstat result.
func (r rootfsFS) resolve(p string) (string, fs.FileInfo, error) {
	hp, err := securejoin.SecureJoin(r.root, p)
	if err != nil {
		return "", nil, err
	}
	fi, err := os.Lstat(hp)
	return hp, fi, err
}

type lookResult int

const (
	lookFound lookResult = iota
	lookNotFound
	lookNotExecutable
	lookIsDir
)

// lookup resolves name the way a shell's execvp does, inside the rootfs: a
// name with a '/' is a path (relative to cwd); otherwise each directory of
// pathEnv is tried in order (an empty entry or a relative one is relative to
// cwd) and the first executable regular file wins. It returns the container
// path and host path of what it found.
func (r rootfsFS) lookup(name, cwd, pathEnv string) (ctrPath, hostPath string, res lookResult) {
	if strings.Contains(name, "/") {
		p := name
		if !path.IsAbs(p) {
			p = path.Join(cwd, p)
		}
		res = r.check(p, &hostPath)
		return p, hostPath, res
	}
	res = lookNotFound
	for _, dir := range strings.Split(pathEnv, ":") {
		if !path.IsAbs(dir) {
			dir = path.Join(cwd, dir)
		}
		p := path.Join(dir, name)
		var hp string
		switch r.check(p, &hp) {
		case lookFound:
			return p, hp, lookFound
		case lookNotExecutable:
			res = lookNotExecutable
		}
	}
	return "", "", res
}

func (r rootfsFS) check(p string, hostPath *string) lookResult {
	hp, fi, err := r.resolve(p)
	switch {
	case err != nil:
		return lookNotFound
	case fi.IsDir():
		return lookIsDir
	case !fi.Mode().IsRegular():
		return lookNotFound
	case fi.Mode().Perm()&0o111 == 0:
		return lookNotExecutable
	}
	*hostPath = hp
	return lookFound
}

// names lists the entries of the container directory dir (at most a few
// thousand), for "did you mean".
func (r rootfsFS) names(dir string) []string {
	hp, fi, err := r.resolve(dir)
	if err != nil || !fi.IsDir() {
		return nil
	}
	f, err := os.Open(hp)
	if err != nil {
		return nil
	}
	defer f.Close()
	names, _ := f.Readdirnames(5000)
	return names
}

// exists reports whether container path p exists.
func (r rootfsFS) exists(p string) bool {
	_, _, err := r.resolve(p)
	return err == nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
