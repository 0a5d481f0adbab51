package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CVE-2021-30465 class: an image whose directories are symlinks pointing at
// the host must not redirect a configured mount onto the host.
func TestMountDestinationSymlinkStaysInRootfs(t *testing.T) {
	forRunners(t, testMountDestinationSymlinkStaysInRootfs)
}

func testMountDestinationSymlinkStaysInRootfs(t *testing.T, e *env) {
	hostDir := t.TempDir() // stands for a host directory the image aims at
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "payload"), []byte("x"), 0o644)
	for _, target := range []string{hostDir, "../../../../../../../../" + strings.TrimPrefix(hostDir, "/")} {
		b := e.bundle([]string{"ls", "/mnt/x"}, func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt/x", Type: "bind", Source: src, Options: []string{"bind", "ro"}})
		})
		os.RemoveAll(filepath.Join(b, "rootfs", "mnt"))
		if err := os.Symlink(target, filepath.Join(b, "rootfs", "mnt")); err != nil {
			t.Fatal(err)
		}
		before := mountinfo(t)
		r := e.run("run", "--bundle", b, "symlink-escape")
		ents, _ := os.ReadDir(hostDir)
		if len(ents) != 0 {
			t.Fatalf("symlink %q: the mount escaped onto the host dir (it now holds %d entries): %s", target, len(ents), r)
		}
		if after := mountinfo(t); after != before {
			t.Fatalf("symlink %q: host mount table changed", target)
		}
		if r.code == 0 && !strings.Contains(r.stdout, "payload") {
			t.Fatalf("run succeeded but the mount is not where the container looks: %s", r)
		}
	}
}

// CVE-2019-19921 class: /proc in the image is a symlink, so mounting procfs
// "at /proc" would land elsewhere and masked paths would not mask. hako
// must refuse.
func TestProcAsSymlinkIsRefused(t *testing.T) { forRunners(t, testProcAsSymlinkIsRefused) }

func testProcAsSymlinkIsRefused(t *testing.T, e *env) {
	b := e.bundle([]string{"true"}, nil)
	os.RemoveAll(filepath.Join(b, "rootfs", "proc"))
	os.MkdirAll(filepath.Join(b, "rootfs", "evil"), 0o755)
	os.Symlink("/evil", filepath.Join(b, "rootfs", "proc"))
	before := mountinfo(t)
	r := e.run("run", "--bundle", b, "procsym")
	if r.code == 0 {
		t.Fatalf("a rootfs with /proc as a symlink ran: %s", r)
	}
	if !strings.Contains(r.stderr, "/proc") {
		t.Errorf("error does not name /proc: %s", r.stderr)
	}
	e.noLeftovers("procsym", before)
}

// Masked paths hide host information even from root in the container.
func TestMaskedPathsAreMasked(t *testing.T) { forRunners(t, testMaskedPathsAreMasked) }

func testMaskedPathsAreMasked(t *testing.T, e *env) {
	b := e.bundle([]string{"sh", "-c", "wc -c < /proc/keys; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname && echo WROTE"}, nil)
	r := e.run("run", "--bundle", b, "masked")
	f := strings.Fields(r.stdout)
	if len(f) < 2 || f[0] != "0" || f[1] != "0" {
		t.Errorf("masked /proc/keys or /sys/firmware shows content: %s", r)
	}
	if strings.Contains(r.stdout, "WROTE") {
		t.Errorf("read-only /proc/sys was writable: %s", r)
	}
}
