// Package testutil holds helpers for hako's tests only: root checks, busybox
// root filesystems and bundles, the built hako binary, and a child subreaper.
package testutil

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// BusyboxPath is Debian's busybox-static binary.
const BusyboxPath = "/bin/busybox"

// RequiresRoot skips t unless it runs as root and not in -short mode.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs root and namespaces; skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// RequiresBusybox skips t unless a static busybox is installed.
func RequiresBusybox(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skip("needs busybox-static (apt-get install busybox-static)")
	}
}

var (
	appletsOnce sync.Once
	applets     []string
	appletsErr  error
)

// Applets lists busybox's applets.
func Applets() ([]string, error) {
	appletsOnce.Do(func() {
		out, err := exec.Command(BusyboxPath, "--list").Output()
		if err != nil {
			appletsErr = fmt.Errorf("busybox --list: %w", err)
			return
		}
		applets = strings.Fields(string(out))
	})
	return applets, appletsErr
}

// MakeBusyboxRootfs fills dir with a busybox root filesystem: the binary
// copied to /bin/busybox (never a symlink onto itself), one symlink per
// applet in /bin, and the usual directories and /etc files.
func MakeBusyboxRootfs(dir string) error {
	list, err := Applets()
	if err != nil {
		return err
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "home", "var", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	// "/" of a container must be traversable by every user (temp dirs are 0700).
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if err := copyFile(BusyboxPath, filepath.Join(dir, "bin/busybox"), 0o755); err != nil {
		return err
	}
	for _, a := range list {
		if a == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":    "root:x:0:\ndaemon:x:1:\ntty:x:5:\nwheel:x:10:root\nnogroup:x:65534:\n",
		"etc/hostname": "busybox\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

var (
	cacheMu   sync.Mutex
	cachedFS  string
	buildOnce sync.Once
	hakoBin   string
	buildErr  error
)

// BusyboxRootfs returns a fresh busybox rootfs in a temp dir of t. It is
// copied (with cp -a, hard links avoided) from one template built per test
// binary, so that tests may change it freely.
func BusyboxRootfs(t testing.TB) string {
	t.Helper()
	RequiresBusybox(t)
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if cachedFS == "" {
		dir, err := os.MkdirTemp("", "hako-busybox-template-")
		if err != nil {
			t.Fatal(err)
		}
		if err := MakeBusyboxRootfs(dir); err != nil {
			t.Fatal(err)
		}
		cachedFS = dir
	}
	dst := filepath.Join(t.TempDir(), "rootfs")
	if out, err := exec.Command("cp", "-a", cachedFS, dst).CombinedOutput(); err != nil {
		t.Fatalf("copying busybox rootfs: %v: %s", err, out)
	}
	return dst
}

// ModuleRoot finds the directory holding go.mod.
func ModuleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate testutil source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..")), nil
}

// HakoBinary builds cmd/hako and its helpers cmd/hako-image and
// cmd/hako-seccomp once per test binary, into one directory (hako finds
// hako-image next to itself; hako-seccomp is also embedded in hako, as
// `make build` does), and returns hako's path. HAKO_BINARY overrides it
// (to test an installed binary; hako-image must then be next to it, in
// $PATH, or named by $HAKO_IMAGE_BINARY, and SeccompHelper expects
// hako-seccomp next to it).
func HakoBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("HAKO_BINARY"); p != "" {
		return p
	}
	buildOnce.Do(build)
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return hakoBin
}

// SeccompHelper returns the path of hako-seccomp, built next to hako as
// HakoBinary does (or found next to $HAKO_BINARY).
func SeccompHelper(t testing.TB) string {
	t.Helper()
	return filepath.Join(filepath.Dir(HakoBinary(t)), "hako-seccomp")
}

// build links the binaries as `make build` does (see the Makefile):
// hako-seccomp with cgo and static libseccomp, stripped; hako (with its
// timer-slack entry stub) in pure Go with the tag hako_embed_seccomp and
// that helper and its SHA-256 as internal/seccomp/embedded/, given through
// -overlay rather than written into the source tree, which other test
// binaries build from at the same time; hako-image in pure Go.
func build() {
	root, err := ModuleRoot()
	if err != nil {
		buildErr = err
		return
	}
	dir, err := os.MkdirTemp("", "hako-bin-")
	if err != nil {
		buildErr = err
		return
	}
	hakoBin = filepath.Join(dir, "hako")
	entry := "" // the timer-slack entry stub exists on amd64 only
	if runtime.GOARCH == "amd64" {
		entry = "-E=github.com/hako-dev/hako/internal/timerslack.entry"
	}
	goBuild := func(cgo string, args ...string) error {
		cmd := exec.Command("go", append([]string{"build"}, args...)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return nil
	}
	if buildErr = goBuild("1", "-tags", "osusergo,netgo", "-ldflags", "-s -w -extldflags -static", "-o", dir+"/", "./cmd/hako-seccomp"); buildErr != nil {
		return
	}
	overlay, err := embedOverlay(root, dir)
	if err != nil {
		buildErr = err
		return
	}
	if buildErr = goBuild("0", "-tags", "osusergo,netgo,hako_embed_seccomp", "-overlay", overlay, "-ldflags", entry, "-o", dir+"/", "./cmd/hako"); buildErr != nil {
		return
	}
	buildErr = goBuild("0", "-tags", "osusergo,netgo", "-o", dir+"/", "./cmd/hako-image")
}

// embedOverlay writes the SHA-256 of dir/hako-seccomp and an overlay that
// makes both the files that internal/seccomp embeds, and returns its path.
func embedOverlay(root, dir string) (string, error) {
	bin := filepath.Join(dir, "hako-seccomp")
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	digest := filepath.Join(dir, "hako-seccomp.sha256")
	if err := os.WriteFile(digest, []byte(hex.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		return "", err
	}
	embedded := filepath.Join(root, "internal", "seccomp", "embedded")
	j, err := json.Marshal(map[string]map[string]string{"Replace": {
		filepath.Join(embedded, "hako-seccomp"):        bin,
		filepath.Join(embedded, "hako-seccomp.sha256"): digest,
	}})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "embed-overlay.json")
	return overlay, os.WriteFile(overlay, j, 0o644)
}

var subreaperOnce sync.Once

// BecomeSubreaper makes the test process a child subreaper, so that
// containers detached by `hako create`/`run -d` are reparented to it and
// reaped here: this machine's PID 1 never reaps orphans.
func BecomeSubreaper(t testing.TB) {
	t.Helper()
	subreaperOnce.Do(func() {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
		}
	})
}
