package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hako-dev/hako/internal/spec"
)

// bundle writes a busybox bundle in dir: rootfs/ built from the host's
// static busybox (the binary copied, one symlink per applet) and a
// config.json that is `hako spec` (the same as `runc spec`) with
// ociVersion 1.0.2 (crun 1.8 refuses 1.1+), no terminal and /bin/true;
// with withSeccomp, also the bench's seccomp profile (benchProfile).
func bundle(dir, busybox string, withSeccomp bool) error {
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "run"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("%s: %w — hint: apt-get install busybox-static", busybox, err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), bb, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", busybox, err)
	}
	for _, a := range strings.Fields(string(out)) {
		if a == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/group"), []byte("root:x:0:\n"), 0o644); err != nil {
		return err
	}
	s := spec.Default()
	s.Version = "1.0.2"
	s.Process.Terminal = false
	s.Process.Args = []string{"/bin/true"}
	if withSeccomp {
		p, err := benchProfile()
		if err != nil {
			return err
		}
		s.Linux.Seccomp = p
	}
	return spec.Write(filepath.Join(dir, "config.json"), s)
}
