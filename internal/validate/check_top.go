package validate

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func (c *checker) checkVersion() {
	v := c.s.Version
	switch {
	case !c.given("ociVersion"):
		c.errorf("ociVersion", ruleVersion, `add "ociVersion": "`+specs.Version+`"`, "missing: ociVersion is REQUIRED")
	case !isSemVer(v):
		hint := `write a version such as "` + specs.Version + `"`
		if t := strings.TrimPrefix(v, "v"); t != v && isSemVer(t) {
			hint = "drop the leading v: " + `"` + t + `"`
		} else if strings.Count(v, ".") == 1 && isSemVer(v+".0") {
			hint = `SemVer needs three numbers: "` + v + `.0"`
		}
		c.errorf("ociVersion", ruleVersion, hint, "%q is not a SemVer 2.0.0 version", v)
	case !strings.HasPrefix(v, "1."):
		c.warnf("ociVersion", ruleVersion, "hako implements runtime-spec "+specs.Version+"; check the file was written for the 1.x spec", "version %s is not a 1.x version of the runtime spec", v)
	}
}

// checkRoot checks root and, with a bundle, finds the root filesystem.
func (c *checker) checkRoot() {
	r := c.s.Root
	if r == nil {
		c.errorf("root", ruleRoot, `add "root": {"path": "rootfs"}`, "missing: root is REQUIRED on Linux")
		return
	}
	if r.Path == "" {
		c.errorf("root.path", ruleRoot, `write "path": "rootfs" (relative to the bundle) or an absolute path`, "missing: root.path is REQUIRED")
		return
	}
	if c.bundle == "" {
		return
	}
	p := r.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.bundle, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.errorf("root.path", ruleRoot, "unpack an image into "+p+", or point root.path at the directory that holds the container's files",
			"the root filesystem %q does not exist: %s: no such file or directory", r.Path, p)
	case err != nil:
		c.errorf("root.path", ruleRoot, "", "cannot use the root filesystem %q: %v", r.Path, errText(err))
	case !fi.IsDir():
		c.errorf("root.path", ruleRoot, "root.path must name a directory holding the container's files", "%q is not a directory: %s", r.Path, p)
	default:
		c.rootfs = p
	}
}

func (c *checker) checkTop() {
	for k := range c.s.Annotations {
		if k == "" {
			c.errorf(keyPath("annotations", k), ruleAnnotations, "name the annotation, e.g. \"com.example.key\"", "annotation keys MUST NOT be empty")
		}
	}
	if c.s.Hostname != "" && !c.hasNamespace(specs.UTSNamespace) {
		c.nsErrorf("hostname", ruleHostname, c.nsHint(specs.UTSNamespace),
			"setting the hostname needs a new UTS namespace: without one it would change the host's hostname")
	}
	if c.s.Domainname != "" && !c.hasNamespace(specs.UTSNamespace) {
		c.nsErrorf("domainname", ruleDomainname, c.nsHint(specs.UTSNamespace),
			"setting the domainname needs a new UTS namespace: without one it would change the host's domainname")
	}
}

// errText is an error's words without the Go path prefix.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
