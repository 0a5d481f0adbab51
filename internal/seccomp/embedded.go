package seccomp

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// The helper embedded in hako: `make build` builds hako-seccomp (stripped),
// writes it and the hex SHA-256 of its bytes to internal/seccomp/embedded/
// (gitignored) and builds hako with the tag hako_embed_seccomp, under
// which embed_on.go embeds both as strings (read-only data: the pages are
// mapped from the executable only when read). The digest stands for the
// helper in the cache key, so a run whose program is cached never reads
// the binary's bytes; one that is not copies them into a sealed memfd and
// executes that.

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
	if _, err := f.WriteString(bin); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the memfd: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the memfd: %w", err)
	}
	return f, nil
}
