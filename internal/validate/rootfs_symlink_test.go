package validate

import (
	"os"
	"path/filepath"
	"testing"
)

// A bundle whose root.path is a symlink to a rootfs elsewhere is valid: the
// runtime resolves root.path on the host, as runc does.
func TestRootPathMayBeASymlink(t *testing.T) {
	real := t.TempDir()
	for _, d := range []string{"bin", "tmp"} {
		os.MkdirAll(filepath.Join(real, d), 0o755)
	}
	os.WriteFile(filepath.Join(real, "bin", "sh"), []byte("#!/bin/sh\n"), 0o755)
	b := t.TempDir()
	if err := os.Symlink(real, filepath.Join(b, "rootfs")); err != nil {
		t.Fatal(err)
	}
	cfg := `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["/bin/sh"],"cwd":"/"}}`
	os.WriteFile(filepath.Join(b, "config.json"), []byte(cfg), 0o644)
	r, err := Bundle(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Errors() {
		t.Errorf("unexpected problem: %s", p)
	}
}
