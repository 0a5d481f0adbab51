package seccomp_test

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/libseccomp"
	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/testutil"
)

// fdsHelperEnv makes this test binary, run as the embedded helper, answer
// a version request with what it sees of itself (fdsReport) instead of
// running the tests.
const fdsHelperEnv = "HAKO_SECCOMP_TEST_FDS_HELPER"

type fdsReport struct {
	Exe  string            `json:"exe"`
	Argv []string          `json:"argv"`
	FDs  map[string]string `json:"fds"` // fd -> readlink
}

func TestMain(m *testing.M) {
	if os.Getenv(fdsHelperEnv) == "1" {
		r := fdsReport{Argv: os.Args, FDs: map[string]string{}}
		r.Exe, _ = os.Readlink("/proc/self/exe")
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			r.FDs[e.Name()], _ = os.Readlink("/proc/self/fd/" + e.Name())
		}
		j, _ := json.Marshal(r)
		out, _ := json.Marshal(seccomp.Response{Version: string(j)})
		os.Stdout.Write(out)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// noHelperOnDisk leaves only the embedded helper to find.
func noHelperOnDisk(t *testing.T) {
	t.Setenv(seccomp.HelperEnv, "")
	os.Unsetenv(seccomp.HelperEnv)
	t.Setenv("PATH", "/nonexistent")
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// The embedded helper runs from a sealed, close-on-exec memfd, as
// hako-seccomp, with nothing open but its stdio pipes.
func TestEmbeddedHelperRunsFromASealedMemfd(t *testing.T) {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	noHelperOnDisk(t)
	t.Setenv(fdsHelperEnv, "1")
	seccomp.SetEmbedded(t, string(self), digest(self)+"\n")
	c := &seccomp.Compiler{}
	if where, err := c.Where(); err != nil || where != "hako-seccomp embedded in hako" {
		t.Errorf("Where: %q, %v", where, err)
	}
	v, err := c.LibraryVersion()
	if err != nil {
		t.Fatal(err)
	}
	var r fdsReport
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		t.Fatalf("%q: %v", v, err)
	}
	if !strings.HasPrefix(r.Exe, "/memfd:hako-seccomp") {
		t.Errorf("the helper's executable is %q, want the memfd", r.Exe)
	}
	if !reflect.DeepEqual(r.Argv, []string{"hako-seccomp"}) {
		t.Errorf("argv %q", r.Argv)
	}
	// Beyond its stdio pipes, the helper may hold only what its own Go
	// runtime opened and what this process holds without close-on-exec
	// (inherited from go test's caller; the real helper closes those at
	// start, TestHelperClosesInheritedFDs).
	for fd, link := range r.FDs {
		n, _ := strconv.Atoi(fd)
		ours, _ := os.Readlink("/proc/self/fd/" + fd)
		flags, err := unix.FcntlInt(uintptr(n), unix.F_GETFD, 0)
		inherited := err == nil && flags&unix.FD_CLOEXEC == 0 && ours == link
		// "": the listing's own, closed before its readlink
		own := link == "" || strings.HasPrefix(link, "/sys/fs/cgroup/") || strings.HasPrefix(link, "anon_inode:")
		switch {
		case strings.Contains(link, "memfd:"):
			t.Errorf("the helper has its memfd open as fd %s", fd)
		case n <= 2 && !strings.HasPrefix(link, "pipe:"):
			t.Errorf("the helper's fd %s is %q, not a pipe", fd, link)
		case n > 2 && !own && !inherited:
			t.Errorf("the helper has fd %s open on %q", fd, link)
		}
	}
	if len(r.FDs) < 3 {
		t.Errorf("the helper has only fds %v", r.FDs)
	}

	f, err := seccomp.SealedMemfd("\x7fELF and more")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	want := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if err != nil || seals&want != want {
		t.Errorf("seals %#x, %v; want %#x", seals, err, want)
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd flags %#x, %v: not close-on-exec", fl, err)
	}
	if _, err := unix.Pwrite(fd, []byte("x"), 0); err != unix.EPERM {
		t.Errorf("writing the sealed memfd: %v, want EPERM", err)
	}
	if fd < 3 {
		t.Errorf("the memfd is fd %d", fd)
	}
}

// The embedded helper is found from memory, with no file anywhere; its
// programs are cached under its digest, not its bytes: a cached program
// is used without running (or reading) it, and a helper of another
// digest compiles again.
func TestEmbeddedHelperFoundFromMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the helper")
	}
	real, err := os.ReadFile(testutil.SeccompHelper(t))
	if err != nil {
		t.Fatal(err)
	}
	noHelperOnDisk(t)
	c := &seccomp.Compiler{CacheDir: filepath.Join(t.TempDir(), seccomp.CacheName)}
	s := testutil.MkdirSeccompProfile()
	want, err := libseccomp.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	entries := func() int {
		ents, _ := os.ReadDir(c.CacheDir)
		return len(ents)
	}
	compile := func(what string, wantEntries int) {
		t.Helper()
		p, err := c.Compile(s)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !reflect.DeepEqual(p.Filter, want) || len(p.Unknown) != 1 {
			t.Errorf("%s: not libseccomp's program", what)
		}
		if entries() != wantEntries {
			t.Errorf("%s: %d cache entries, want %d", what, entries(), wantEntries)
		}
	}

	// Nothing embedded: the lookup on disk, and its error.
	seccomp.SetEmbedded(t, "", "")
	if _, err := c.Compile(s); err == nil || !strings.Contains(err.Error(), "which was not found") {
		t.Errorf("nothing embedded, nothing on disk: %v", err)
	}

	d := digest(real)
	seccomp.SetEmbedded(t, string(real), d)
	compile("embedded helper", 1)
	if v, err := c.LibraryVersion(); err != nil || !strings.HasPrefix(v, "2.") {
		t.Errorf("LibraryVersion: %q, %v", v, err)
	}
	if names, err := c.Unknown(s); err != nil || len(names) != 1 || names[0].Name != "hako_no_such_syscall" {
		t.Errorf("Unknown: %+v, %v", names, err)
	}

	// Same digest, bytes that cannot run: the cached program is used.
	seccomp.SetEmbedded(t, "not a helper", d)
	compile("cached, with the helper's bytes unusable", 1)
	_, err = c.LibraryVersion()
	if err == nil || !strings.Contains(err.Error(), "hako-seccomp embedded in hako") {
		t.Errorf("running bytes that are no binary: %v", err)
	}
	// Another digest is another key: not cached, so they run, and fail.
	seccomp.SetEmbedded(t, "not a helper", digest([]byte("not a helper")))
	if _, err := c.Compile(s); err == nil || !strings.Contains(err.Error(), "hako-seccomp embedded in hako") {
		t.Errorf("another digest: %v", err)
	}
	// Another helper (a byte more) compiles again, into a second entry.
	other := append(real, 0)
	seccomp.SetEmbedded(t, string(other), digest(other))
	compile("another helper", 2)
	seccomp.SetEmbedded(t, string(real), d)
	compile("the first helper again", 2)

	// $HAKO_SECCOMP_BINARY comes first.
	failing := filepath.Join(t.TempDir(), "failing")
	os.WriteFile(failing, []byte("#!/bin/sh\necho out of luck >&2\nexit 2\n"), 0o755)
	t.Setenv(seccomp.HelperEnv, failing)
	if _, err := c.LibraryVersion(); err == nil || !strings.Contains(err.Error(), "out of luck") {
		t.Errorf("$%s set: %v", seccomp.HelperEnv, err)
	}
	os.Unsetenv(seccomp.HelperEnv)

	// A digest that is not one is refused rather than keying programs.
	for _, bad := range []string{"", "abc", strings.Repeat("g", 64), strings.ToUpper(d)} {
		seccomp.SetEmbedded(t, string(real), bad)
		_, err := c.Compile(s)
		if err == nil || !strings.Contains(err.Error(), "not a SHA-256") {
			t.Errorf("digest %q: %v", bad, err)
		}
	}
}

// A file of this package embedded in the test binary, as the helper is in
// hako: read-only data mapped from the executable.
//
//go:embed seccomp_test.go
var embeddedSource string

// The embedded helper is copied into the memfd from hako's executable,
// where its bytes lie, without reading them into hako's memory; bytes not
// mapped from the executable are refused, leaving the memfd empty (and
// sealedMemfd writes them itself).
func TestCopyFromExe(t *testing.T) {
	memfd := func() (int, func() string) {
		fd, err := unix.MemfdCreate("test", unix.MFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd, func() string {
			b, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(fd))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	if len(embeddedSource) < 8192 {
		t.Fatalf("the embedded file has only %d bytes", len(embeddedSource))
	}
	fd, content := memfd()
	if !seccomp.CopyFromExe(fd, embeddedSource) {
		t.Fatal("bytes embedded in the executable were not copied from it")
	}
	if content() != embeddedSource {
		t.Error("the copy differs from the embedded bytes")
	}
	heap := strings.Clone(embeddedSource)
	fd, content = memfd()
	if seccomp.CopyFromExe(fd, heap) || content() != "" {
		t.Errorf("bytes on the heap: copied %d bytes from the executable", len(content()))
	}
	f, err := seccomp.SealedMemfd(heap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(f.Fd()))); err != nil || string(b) != heap {
		t.Errorf("sealedMemfd of bytes on the heap: %d bytes, %v", len(b), err)
	}
}
