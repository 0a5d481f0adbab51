package seccomp

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The helper embedded in hako: `make build` builds hako-seccomp (stripped),
// writes it and the hex SHA-256 of its bytes to internal/seccomp/embedded/
// (gitignored) and builds hako with the tag hako_embed_seccomp, under
// which embed_on.go embeds both as strings (read-only data: the pages are
// mapped from the executable only when read). The digest stands for the
// helper in the cache key, so a run whose program is cached never reads
// the binary's bytes; one that is not copies them into a sealed memfd
// (sendfile from hako's executable, so that hako itself does not read
// them) and executes that.

// helper is a hako-seccomp to run: a file, or the one embedded in hako.
type helper struct {
	path string // the file; "" for the embedded one
	// bin and digest: the embedded binary and the hex SHA-256 of its bytes.
	bin, digest string
}

func (h helper) String() string {
	if h.path == "" {
		return Helper + " embedded in hako"
	}
	return h.path
}

// embeddedHelper is the helper built into hako, if there is one.
func embeddedHelper() (h helper, ok bool, err error) {
	if embeddedBin == "" {
		return helper{}, false, nil
	}
	d := strings.TrimSpace(embeddedDigest)
	if len(d) != 64 || strings.Trim(d, "0123456789abcdef") != "" {
		return helper{}, true, fmt.Errorf("linux.seccomp: the %s embedded in this hako comes with %q, not a SHA-256 in hex, to key its programs by — hint: rebuild hako with `make build`", Helper, d)
	}
	return helper{bin: embeddedBin, digest: d}, true, nil
}

// memfdExec is MFD_EXEC (Linux 6.3): executable even where the sysctl
// vm.memfd_noexec asks otherwise.
const memfdExec = 0x10

// sealedMemfd returns a memfd holding bin, sealed against any change,
// close-on-exec and numbered 3 or more (so that no stdio descriptor of a
// child replaces it before the child executes it through /proc/self/fd).
func sealedMemfd(bin string) (*os.File, error) {
	fd, err := unix.MemfdCreate(Helper, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|memfdExec)
	if err == unix.EINVAL { // before 6.3
		fd, err = unix.MemfdCreate(Helper, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	if fd < 3 {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("moving the memfd above stdio: %w", err)
		}
		fd = nfd
	}
	f := os.NewFile(uintptr(fd), "memfd:"+Helper)
	if !copyFromExe(fd, bin) {
		if _, err := f.WriteString(bin); err != nil {
			f.Close()
			return nil, fmt.Errorf("writing the memfd: %w", err)
		}
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the memfd: %w", err)
	}
	return f, nil
}

// copyFromExe fills the empty memfd fd with bin by sendfile(2) from hako's
// own executable, if bin is mapped from it (the embedded binary lies in
// its read-only segment): the kernel copies from the page cache, and hako
// never reads the bytes itself, which would leave them resident in its
// memory (3 MB of peak RSS) for the rest of its run. It reports whether
// it did; if not, fd is empty again.
func copyFromExe(fd int, bin string) bool {
	if len(bin) < 64 {
		return false
	}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.StringData(bin))))
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return false
	}
	// start-end perms offset major:minor inode path
	for _, l := range strings.Split(string(maps), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || addr < start || addr+uint64(len(bin)) > end {
			continue
		}
		maj, min, _ := strings.Cut(f[3], ":")
		off, err1 := strconv.ParseUint(f[2], 16, 64)
		major, err2 := strconv.ParseUint(maj, 16, 32)
		minor, err3 := strconv.ParseUint(min, 16, 32)
		ino, err4 := strconv.ParseUint(f[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || f[1] != "r--p" || ino == 0 {
			return false
		}
		return sendExe(fd, int64(off+addr-start), bin, uint32(major), uint32(minor), ino)
	}
	return false
}

// sendExe copies len(bin) bytes at off of /proc/self/exe, which must be
// the file major:minor ino, to fd, and checks that they begin and end as
// bin does.
func sendExe(fd int, off int64, bin string, major, minor uint32, ino uint64) bool {
	exe, err := unix.Open("/proc/self/exe", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(exe)
	var st unix.Stat_t
	if unix.Fstat(exe, &st) != nil || unix.Major(st.Dev) != major || unix.Minor(st.Dev) != minor || st.Ino != ino {
		return false
	}
	ok := true
	for n := len(bin); n > 0 && ok; {
		w, err := unix.Sendfile(fd, exe, &off, n)
		if err == unix.EINTR {
			continue
		}
		ok = err == nil && w > 0
		n -= w
	}
	var head, tail [64]byte
	if ok {
		_, err1 := unix.Pread(fd, head[:], 0)
		_, err2 := unix.Pread(fd, tail[:], int64(len(bin)-len(tail)))
		ok = err1 == nil && err2 == nil && string(head[:]) == bin[:len(head)] && string(tail[:]) == bin[len(bin)-len(tail):]
	}
	if !ok {
		unix.Ftruncate(fd, 0)
		unix.Seek(fd, 0, 0)
	}
	return ok
}
