package mount

// The root tests run each scenario in a fresh process with new namespaces:
// the test binary re-executes itself (TestHelperProcess), the child sets
// up a rootfs with Prepare, PivotRoot and Finish, runs the probes the test
// asked for from inside the container, and prints a JSON result.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	helperEnv    = "HAKO_MOUNT_TEST_SCENARIO"
	resultMarker = "HAKO-MOUNT-RESULT:"
)

// scenario is what a helper process does.
type scenario struct {
	Config     Config
	Steps      string  // "prepare" (only), "pivot" (prepare+pivot), "" (all three)
	Probes     []probe // run inside the container after the steps
	Outer      *outer  // when set, this process is only the outer namespace
	Cloneflags uintptr // for the inner process of an outer scenario
	UserNS     bool    // the inner process gets a user namespace mapping 0 -> 0
	// NoPrepare skips Prepare and just mounts a tmpfs at Rootfs/tmp: the
	// negative control of the propagation test.
	NoPrepare bool
}

// outer is a first namespace the test controls completely: it sets up
// mounts as a hostile or unusual host would have them, runs the real
// scenario in a child, and reports how its own mount table changed.
type outer struct {
	MakeShared  bool   // make "/" rshared, so that a leak would show here
	LockedTmpfs string // mount a nosuid,nodev,noexec tmpfs here with a file "hello"
}

type probe struct {
	Op   string // stat, readlink, read, write, mkdir, ls, statfs, mountinfo, exists
	Path string
}

type probeResult struct {
	Out string
	Err string // errno name, or the error text
}

type result struct {
	Err     string
	Step    string
	Field   string
	Errno   string // the errno name, only when errors.Is(err, errno) holds
	IsError bool   // errors.As(err, **Error)
	Probes  map[string]probeResult
	// outer scenarios
	Inner       *result
	MountsAdded []string
	MountsGone  []string
}

func (p probe) key() string { return p.Op + " " + p.Path }

// TestHelperProcess is the helper's entry point; it does nothing in a
// normal test run.
func TestHelperProcess(t *testing.T) {
	file := os.Getenv(helperEnv)
	if file == "" {
		return
	}
	var sc scenario
	data, err := os.ReadFile(file)
	if err == nil {
		err = json.Unmarshal(data, &sc)
	}
	var res result
	if err != nil {
		res.Err = "reading scenario: " + err.Error()
	} else if sc.Outer != nil {
		res = runOuter(sc)
	} else {
		res = runInner(sc)
	}
	out, _ := json.Marshal(res)
	fmt.Printf("\n%s%s\n", resultMarker, out)
	os.Exit(0)
}

func runInner(sc scenario) result {
	var res result
	var err error
	c := &sc.Config
	if sc.NoPrepare {
		err = unix.Mount("tmpfs", filepath.Join(c.Rootfs, "tmp"), "tmpfs", 0, "")
	} else {
		err = Prepare(c)
		if err == nil && sc.Steps != "prepare" {
			err = PivotRoot(c)
		}
		if err == nil && sc.Steps == "" {
			err = Finish(c)
		}
	}
	if err != nil {
		res.Err = err.Error()
		var me *Error
		if errors.As(err, &me) {
			res.IsError, res.Step, res.Field = true, me.Step, me.Field
		}
		var errno unix.Errno
		if errors.As(err, &errno) && errors.Is(err, errno) {
			res.Errno = unix.ErrnoName(errno)
		}
		return res
	}
	res.Probes = map[string]probeResult{}
	for _, p := range sc.Probes {
		res.Probes[p.key()] = runProbe(p)
	}
	return res
}

func errText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

func runProbe(p probe) probeResult {
	var r probeResult
	var err error
	switch p.Op {
	case "stat":
		var st unix.Stat_t
		if err = unix.Lstat(p.Path, &st); err == nil {
			kind := map[uint32]string{unix.S_IFCHR: "c", unix.S_IFBLK: "b", unix.S_IFIFO: "p", unix.S_IFDIR: "d",
				unix.S_IFREG: "f", unix.S_IFLNK: "l"}[st.Mode&unix.S_IFMT]
			r.Out = fmt.Sprintf("%s %04o %d:%d uid=%d gid=%d", kind, st.Mode&0o7777,
				unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Uid, st.Gid)
		}
	case "exists":
		_, err = os.Lstat(p.Path)
	case "readlink":
		r.Out, err = os.Readlink(p.Path)
	case "read":
		var b []byte
		b, err = os.ReadFile(p.Path)
		r.Out = string(b)
	case "write":
		var f *os.File
		f, err = os.OpenFile(p.Path, os.O_WRONLY|os.O_CREATE, 0o644)
		if err == nil {
			_, err = f.Write([]byte("x"))
			f.Close()
		}
	case "mkdir":
		err = os.Mkdir(p.Path, 0o755)
	case "ls":
		var ents []os.DirEntry
		ents, err = os.ReadDir(p.Path)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		r.Out = strings.Join(names, " ")
	case "statfs":
		var st unix.Statfs_t
		if err = unix.Statfs(p.Path, &st); err == nil {
			r.Out = fmt.Sprintf("%#x ro=%v", st.Type, st.Flags&unix.ST_RDONLY != 0)
		}
	case "mountinfo":
		var b []byte
		b, err = os.ReadFile("/proc/self/mountinfo")
		r.Out = string(b)
	default:
		err = fmt.Errorf("unknown probe %q", p.Op)
	}
	if err != nil {
		r.Err = errText(err)
	}
	return r
}

func runOuter(sc scenario) result {
	var res result
	o := sc.Outer
	if o.MakeShared {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
			res.Err = "outer: make / rshared: " + err.Error()
			return res
		}
	}
	if o.LockedTmpfs != "" {
		if err := unix.Mount("tmpfs", o.LockedTmpfs, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755"); err != nil {
			res.Err = "outer: locked tmpfs: " + err.Error()
			return res
		}
		if err := os.WriteFile(filepath.Join(o.LockedTmpfs, "hello"), []byte("hi\n"), 0o644); err != nil {
			res.Err = "outer: " + err.Error()
			return res
		}
	}
	before, _ := os.ReadFile("/proc/self/mountinfo")
	inner := sc
	inner.Outer = nil
	r, err := spawn(inner, sc.Cloneflags, sc.UserNS)
	if err != nil {
		res.Err = "outer: " + err.Error()
		return res
	}
	res.Inner = &r
	after, _ := os.ReadFile("/proc/self/mountinfo")
	res.MountsAdded, res.MountsGone = diffLines(string(before), string(after))
	return res
}

func diffLines(before, after string) (added, gone []string) {
	b := map[string]bool{}
	for _, l := range strings.Split(before, "\n") {
		b[l] = true
	}
	a := map[string]bool{}
	for _, l := range strings.Split(after, "\n") {
		a[l] = true
		if !b[l] {
			added = append(added, l)
		}
	}
	for l := range b {
		if !a[l] {
			gone = append(gone, l)
		}
	}
	sort.Strings(gone)
	return added, gone
}

// spawn runs sc in a re-executed test binary with the given namespaces.
func spawn(sc scenario, cloneflags uintptr, userns bool) (result, error) {
	f, err := os.CreateTemp("", "hako-mount-scenario-*.json")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(sc); err != nil {
		f.Close()
		return result{}, err
	}
	f.Close()
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+f.Name())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneflags, Pdeathsig: syscall.SIGKILL}
	if userns {
		cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
	}
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("helper: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	i := strings.LastIndex(out, resultMarker)
	if i < 0 {
		return result{}, fmt.Errorf("helper printed no result\nstdout: %s\nstderr: %s", out, stderr.String())
	}
	line := out[i+len(resultMarker):]
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	var res result
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return result{}, fmt.Errorf("helper result %q: %v", line, err)
	}
	return res, nil
}
