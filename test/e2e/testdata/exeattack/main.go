// Command exeattack is the attacker of TestHostBinaryNotWritableFromContainer:
// run inside a container, it tries to open a process's /proc/PID/exe for
// writing, the way CVE-2019-5736 overwrote runc, at three moments the test
// chooses, and appends one byte whenever an open succeeds.
//
//	exeattack PID GOFIFO ACKFIFO REPORT
//
// Steps, each reported as "STEP RESULT WHERE" in REPORT (RESULT: the errno
// name of the failed open or write, or WROTE; WHERE: "ro" when the file
// lies on a read-only mount, "memfd" for a sealed copy, else "rw") and
// acknowledged with one byte on ACKFIFO; the next step waits for one byte
// on GOFIFO:
//
//	init-alive         open /proc/PID/exe O_WRONLY (PID is a created container's init);
//	                   then keep an O_PATH handle on it
//	interpreter-alive  open /proc/PID/exe O_WRONLY again (PID now runs a #!/proc/self/exe script)
//	after-exit         reopen the O_PATH handle O_WRONLY through /proc/self/fd (PID is gone)
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: exeattack PID GOFIFO ACKFIFO REPORT")
		os.Exit(2)
	}
	exe := "/proc/" + os.Args[1] + "/exe"
	goFifo, err := os.OpenFile(os.Args[2], os.O_RDONLY, 0)
	check(err)
	ackFifo, err := os.OpenFile(os.Args[3], os.O_WRONLY, 0)
	check(err)
	report, err := os.OpenFile(os.Args[4], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	check(err)
	step := func(name, path string) {
		fmt.Fprintln(report, name, tryWrite(path), where(path))
		_, err := ackFifo.Write([]byte{'.'})
		check(err)
	}
	wait := func() {
		_, err := goFifo.Read(make([]byte, 1))
		check(err)
	}

	step("init-alive", exe)
	held, err := unix.Open(exe, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(report, "hold", unix.ErrnoName(err.(unix.Errno)))
		os.Exit(1)
	}
	wait()
	step("interpreter-alive", exe)
	wait()
	step("after-exit", "/proc/self/fd/"+strconv.Itoa(held))
}

// tryWrite opens path for writing and appends one byte; it returns the
// errno name of the failure, or WROTE.
func tryWrite(path string) string {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		return errName(err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte{'x'}); err != nil {
		return "opened-but-write-" + errName(err)
	}
	return "WROTE"
}

// where tells on what the file behind path lies.
func where(path string) string {
	if l, err := os.Readlink(path); err == nil && strings.HasPrefix(l, "/memfd:") {
		return "memfd"
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return "unknown-" + errName(err)
	}
	defer unix.Close(fd)
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return "unknown-" + errName(err)
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		return "ro"
	}
	return "rw"
}

func errName(err error) string {
	if e, ok := err.(unix.Errno); ok {
		return unix.ErrnoName(e)
	}
	return err.Error()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "exeattack:", err)
		os.Exit(1)
	}
}
