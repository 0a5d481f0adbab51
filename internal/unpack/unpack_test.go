package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

func TestBasicTree(t *testing.T) {
	r := newRootfs(t)
	mtime := time.Date(2001, 9, 9, 1, 46, 40, 123456789, time.UTC)
	apply(t, r, tarOf(t,
		dir("etc/").with(func(e *ent) { e.mtime = mtime }),
		file("etc/hostname", "box\n").with(func(e *ent) { e.mtime = mtime }),
		file("bin/su", "setuid").with(func(e *ent) { e.mode = 0o4755 }),
		dir("tmp/").with(func(e *ent) { e.mode = 0o1777 }),
		symlink("bin/sh", "busybox").with(func(e *ent) { e.mtime = mtime }),
		hardlink("bin/su2", "bin/su"),
		ent{name: "run/fifo", typ: tar.TypeFifo, mode: 0o600},
	))
	if got := readFile(t, filepath.Join(r, "etc/hostname")); got != "box\n" {
		t.Errorf("etc/hostname = %q", got)
	}
	if m := lstat(t, filepath.Join(r, "bin/su")).Mode(); m&os.ModeSetuid == 0 || m.Perm() != 0o755 {
		t.Errorf("bin/su mode = %v, want setuid 0755", m)
	}
	if m := lstat(t, filepath.Join(r, "tmp")).Mode(); m&os.ModeSticky == 0 || m.Perm() != 0o777 {
		t.Errorf("tmp mode = %v, want sticky 0777", m)
	}
	if target, _ := os.Readlink(filepath.Join(r, "bin/sh")); target != "busybox" {
		t.Errorf("bin/sh -> %q", target)
	}
	a, b := lstat(t, filepath.Join(r, "bin/su")), lstat(t, filepath.Join(r, "bin/su2"))
	if !os.SameFile(a, b) {
		t.Error("bin/su2 is not a hard link of bin/su")
	}
	if lstat(t, filepath.Join(r, "run/fifo")).Mode()&os.ModeNamedPipe == 0 {
		t.Error("run/fifo is not a fifo")
	}
	// Times: the directory keeps its own although a child was written
	// after it; the symlink's are its own, not its target's.
	for _, p := range []string{"etc", "etc/hostname", "bin/sh"} {
		if got := lstat(t, filepath.Join(r, p)).ModTime(); !got.Equal(mtime) {
			t.Errorf("%s mtime = %v, want %v", p, got, mtime)
		}
	}
	// Implicit parents exist as directories.
	if !lstat(t, filepath.Join(r, "run")).IsDir() {
		t.Error("implicit parent run/ is not a directory")
	}
}

func TestOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change owners")
	}
	r := newRootfs(t)
	own := func(e *ent) { e.uid, e.gid = 1000, 2000 }
	apply(t, r, tarOf(t,
		dir("home/").with(own),
		file("home/f", "x").with(func(e *ent) { own(e); e.mode = 0o6755 }),
		symlink("home/l", "/nonexistent").with(own),
		file("max", "x").with(func(e *ent) { e.uid, e.gid = maxID, maxID }),
	))
	for _, p := range []string{"home", "home/f", "home/l"} {
		st := lstat(t, filepath.Join(r, p)).Sys().(*syscall.Stat_t)
		if st.Uid != 1000 || st.Gid != 2000 {
			t.Errorf("%s owned by %d:%d, want 1000:2000", p, st.Uid, st.Gid)
		}
	}
	// chown clears setuid; the mode must be set after the owner.
	if m := lstat(t, filepath.Join(r, "home/f")).Mode(); m&os.ModeSetuid == 0 || m&os.ModeSetgid == 0 {
		t.Errorf("home/f mode = %v, want setuid and setgid kept", m)
	}
	if st := lstat(t, filepath.Join(r, "max")).Sys().(*syscall.Stat_t); st.Uid != maxID {
		t.Errorf("max owned by %d, want %d", st.Uid, maxID)
	}
}

func TestOwnershipNever(t *testing.T) {
	r := newRootfs(t)
	if _, err := Apply(context.Background(), r, bytes.NewReader(tarOf(t,
		file("f", "x").with(func(e *ent) { e.uid, e.gid = 1000, 1000 }))), Options{Ownership: OwnershipNever}); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, filepath.Join(r, "f")).Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
		t.Errorf("f owned by %d, want the caller %d", st.Uid, os.Geteuid())
	}
}

func TestXattrs(t *testing.T) {
	r := newRootfs(t)
	if err := unix.Setxattr(r, "user.probe", []byte("1"), 0); err != nil {
		t.Skipf("file system of %s has no user xattrs: %v", r, err)
	}
	// A version 2 file capability: cap_net_raw (13) permitted and effective.
	vfsCap := string([]byte{0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	apply(t, r, tarOf(t,
		file("f", "x").with(func(e *ent) {
			e.pax = map[string]string{
				"SCHILY.xattr.user.mime":                "text/plain",
				"SCHILY.xattr.trusted.overlay.opaque":   "y",
				"SCHILY.xattr.trusted.overlay.redirect": "/etc",
			}
		}),
		file("ping", "x").with(func(e *ent) {
			e.mode = 0o755
			e.pax = map[string]string{"SCHILY.xattr.security.capability": vfsCap}
		}),
		dir("d/").with(func(e *ent) { e.pax = map[string]string{"SCHILY.xattr.trusted.overlay.opaque": "y"} }),
	))
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(filepath.Join(r, "f"), "user.mime", buf)
	if err != nil || string(buf[:n]) != "text/plain" {
		t.Errorf("user.mime = %q, %v; want text/plain", buf[:n], err)
	}
	for _, p := range []string{"f", "d"} {
		for _, a := range []string{"trusted.overlay.opaque", "trusted.overlay.redirect"} {
			if _, err := unix.Lgetxattr(filepath.Join(r, p), a, buf); err == nil {
				t.Errorf("%s has %s: it must be dropped", p, a)
			}
		}
	}
	if os.Geteuid() == 0 {
		n, err = unix.Lgetxattr(filepath.Join(r, "ping"), "security.capability", buf)
		if err != nil || string(buf[:n]) != vfsCap {
			t.Errorf("security.capability = %x, %v; want it kept", buf[:n], err)
		}
	}
}

func TestWhiteouts(t *testing.T) {
	lower := tarOf(t,
		file("a/gone", "1"), file("a/kept", "1"),
		dir("b/"), file("b/sub/x", "1"),
		file("o1/lower", "1"), file("o1/keep/lower", "1"),
		file("o2/lower", "1"), file("o2/keep/lower", "1"),
	)
	upper := tarOf(t,
		file("a/.wh.gone", ""),
		file(".wh.b", ""),
		file(".wh.never-existed", ""),
		file("missing/.wh.x", ""),
		// opaque before its siblings
		file("o1/.wh..wh..opq", ""), file("o1/upper", "2"), file("o1/keep/upper", "2"),
		// opaque after its siblings
		file("o2/upper", "2"), file("o2/keep/upper", "2"), file("o2/.wh..wh..opq", ""),
	)
	r := newRootfs(t)
	apply(t, r, lower, upper)
	mustNotExist(t, filepath.Join(r, "a/gone"))
	mustNotExist(t, filepath.Join(r, "b"))
	readFile(t, filepath.Join(r, "a/kept"))
	for _, o := range []string{"o1", "o2"} {
		mustNotExist(t, filepath.Join(r, o, "lower"))
		mustNotExist(t, filepath.Join(r, o, "keep/lower"))
		mustNotExist(t, filepath.Join(r, o, ".wh..wh..opq"))
		if got := readFile(t, filepath.Join(r, o, "upper")); got != "2" {
			t.Errorf("%s/upper = %q", o, got)
		}
		readFile(t, filepath.Join(r, o, "keep/upper"))
	}
	mustNotExist(t, filepath.Join(r, "a/.wh.gone"))
}

func TestDuplicatesLastWins(t *testing.T) {
	r := newRootfs(t)
	apply(t, r, tarOf(t,
		file("f", "first"), file("f", "second"),
		dir("d/"), file("d/child", "x"), file("d", "a file now"),
		file("g", "x"), dir("g/"), file("g/child", "y"),
		dir("s/"), symlink("s", "f"),
		symlink("t", "f"), file("t", "not through the link"),
		dir("m/").with(func(e *ent) { e.mode = 0o700 }), dir("m/").with(func(e *ent) { e.mode = 0o750 }),
	))
	if got := readFile(t, filepath.Join(r, "f")); got != "second" {
		t.Errorf("f = %q, want the last entry", got)
	}
	if got := readFile(t, filepath.Join(r, "d")); got != "a file now" {
		t.Errorf("d = %q: a file must replace the directory", got)
	}
	readFile(t, filepath.Join(r, "g/child"))
	if target, _ := os.Readlink(filepath.Join(r, "s")); target != "f" {
		t.Errorf("s -> %q", target)
	}
	if !lstat(t, filepath.Join(r, "t")).Mode().IsRegular() {
		t.Error("t must be a regular file replacing the symlink")
	}
	if got := readFile(t, filepath.Join(r, "f")); got != "second" {
		t.Errorf("f = %q after writing t: the write went through the symlink", got)
	}
	if m := lstat(t, filepath.Join(r, "m")).Mode().Perm(); m != 0o750 {
		t.Errorf("m mode = %v, want the last entry's 0750", m)
	}
}

func TestFileReplacesDirFromLowerLayer(t *testing.T) {
	r := newRootfs(t)
	apply(t, r, tarOf(t, file("x/deep/file", "1")), tarOf(t, file("x", "file")))
	if got := readFile(t, filepath.Join(r, "x")); got != "file" {
		t.Errorf("x = %q", got)
	}
}

func TestSymlinkInParentIsFollowedInsideRoot(t *testing.T) {
	// Merged /usr: lib -> usr/lib, a later entry writes through it.
	r := newRootfs(t)
	apply(t, r, tarOf(t, dir("usr/lib/"), symlink("lib", "usr/lib"), symlink("abs", "/usr/lib")),
		tarOf(t, file("lib/libc.so", "c"), file("abs/libm.so", "m")))
	readFile(t, filepath.Join(r, "usr/lib/libc.so"))
	readFile(t, filepath.Join(r, "usr/lib/libm.so"))
}

func TestCompressions(t *testing.T) {
	layer := tarOf(t, file("etc/os-release", "ID=hako\n"), symlink("bin/sh", "busybox"))
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(layer)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(layer)
	zw.Close()
	var want string
	for name, data := range map[string][]byte{"none": layer, "gzip": gz.Bytes(), "zstd": zs.Bytes()} {
		r := newRootfs(t)
		st, err := Apply(context.Background(), r, bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.Compression != name || st.Entries != 2 || st.Bytes != int64(len(layer)) {
			t.Errorf("%s: stats %+v", name, st)
		}
		got := snapshot(t, r)
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("%s gives\n%s\nwant\n%s", name, got, want)
		}
	}
}

func TestCorruptGzipIsAnError(t *testing.T) {
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(tarOf(t, file("f", "x")))
	gw.Close()
	b := gz.Bytes()
	b[len(b)-6] ^= 0xff // the CRC in the trailer
	_, err := Apply(context.Background(), newRootfs(t), bytes.NewReader(b), Options{})
	if err == nil {
		t.Fatal("a gzip stream with a bad checksum was accepted")
	}
}

func TestNotATar(t *testing.T) {
	_, err := Apply(context.Background(), newRootfs(t), strings.NewReader(strings.Repeat("hello ", 200)), Options{})
	if err == nil || !strings.Contains(err.Error(), "not a valid tar archive") {
		t.Fatalf("err = %v, want a 'not a valid tar archive' error", err)
	}
}

func TestLimits(t *testing.T) {
	many := make([]ent, 20)
	for i := range many {
		many[i] = file("f"+strings.Repeat("x", i), "")
	}
	cases := []struct {
		name  string
		layer []byte
		opts  Options
		want  string
	}{
		{"entries", tarOf(t, many...), Options{MaxEntries: 10}, "entry count"},
		{"bytes", tarOf(t, file("big", strings.Repeat("z", 1<<20))), Options{MaxBytes: 64 << 10}, "decompressed size"},
		{"name", tarOf(t, file(strings.Repeat("d/", 100)+"f", "")), Options{MaxNameLen: 100}, "MaxNameLen"},
		{"component", tarOf(t, file(strings.Repeat("n", 300), "")), Options{}, "file system limit"},
		{"symlink target", tarOf(t, symlink("l", strings.Repeat("t/", 100))), Options{MaxNameLen: 100}, "MaxNameLen"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Apply(context.Background(), newRootfs(t), bytes.NewReader(c.layer), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestLimitErrorType(t *testing.T) {
	_, err := Apply(context.Background(), newRootfs(t), bytes.NewReader(tarOf(t, file("big", strings.Repeat("z", 1<<20)))), Options{MaxBytes: 4096})
	var le *LimitError
	if !errors.As(err, &le) || le.Field != "MaxBytes" {
		t.Fatalf("err = %v, want a *LimitError on MaxBytes", err)
	}
}

func TestDeviceNodes(t *testing.T) {
	r := newRootfs(t)
	st, err := Apply(context.Background(), r, bytes.NewReader(tarOf(t,
		ent{name: "dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3},
		ent{name: "dev/loop0", typ: tar.TypeBlock, mode: 0o660, major: 7, minor: 0},
	)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(r, "dev/null"))
	if err != nil {
		if st.Skipped != 2 {
			t.Fatalf("dev/null missing but Skipped = %d, want 2", st.Skipped)
		}
		t.Logf("device nodes skipped here (%d), as they must be when not permitted", st.Skipped)
		return
	}
	sys := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&os.ModeCharDevice == 0 || unix.Major(sys.Rdev) != 1 || unix.Minor(sys.Rdev) != 3 || fi.Mode().Perm() != 0o666 {
		t.Errorf("dev/null: mode %v rdev %d:%d", fi.Mode(), unix.Major(sys.Rdev), unix.Minor(sys.Rdev))
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Apply(ctx, newRootfs(t), bytes.NewReader(tarOf(t, file("f", ""))), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestMissingRootfs(t *testing.T) {
	_, err := Apply(context.Background(), filepath.Join(t.TempDir(), "nope"), bytes.NewReader(tarOf(t, file("f", ""))), Options{})
	if err == nil || !strings.Contains(err.Error(), "root filesystem directory") {
		t.Fatalf("err = %v", err)
	}
}
