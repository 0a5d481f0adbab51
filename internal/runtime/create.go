package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/cgroup"

	"github.com/hako-dev/hako/internal/hooks"
	"github.com/hako-dev/hako/internal/netdev"
	"github.com/hako-dev/hako/internal/spawn"
	"github.com/hako-dev/hako/internal/spec"
	"github.com/hako-dev/hako/internal/state"
)

// CreateOptions are the flags of `create` (and of `run`).
type CreateOptions struct {
	ID            string
	Bundle        string
	PidFile       string
	ConsoleSocket string
	// PidfdSocket receives a pidfd of the container's process (runc's
	// --pidfd-socket).
	PidfdSocket string
	NoPivot     bool
	PreserveFDs int
	// KeepConsole asks Create to hand back the pty master (foreground run)
	// instead of sending it to ConsoleSocket.
	KeepConsole bool
	// Stdio for the init; nil = inherit.
	Stdin, Stdout, Stderr *os.File
	// Validate checks the bundle before anything is created; the CLI passes
	// internal/validate's check so that create refuses with its messages.
	// It returns the decoded spec and the bytes of config.json (or nil:
	// create then loads the bundle itself).
	Validate func(bundle string) (*specs.Spec, []byte, error)
}

// Created is a container whose init waits for start.
type Created struct {
	Container *Container
	Init      *spawn.Init
}

// Create creates a container: its init runs in new namespaces and waits on
// the exec fifo. On any failure nothing is left behind.
func (r *Runtime) Create(o CreateOptions) (_ *Created, retErr error) {
	if err := state.ValidateID(o.ID); err != nil {
		return nil, err
	}
	if !r.Systemd {
		defer cgroup.WarmAttach(r.Store.Root)()
	}
	bundle, err := filepath.Abs(o.Bundle)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(bundle); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("bundle %s: not a directory — hint: --bundle must name the directory holding config.json and rootfs/", bundle)
	}
	var s *specs.Spec
	var config []byte
	if o.Validate != nil {
		if s, config, err = o.Validate(bundle); err != nil {
			return nil, err
		}
	}
	if s == nil {
		if s, err = spec.LoadBundle(bundle); err != nil {
			return nil, err
		}
	}
	if err := checkMinimal(s, bundle); err != nil {
		return nil, err
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if os.Geteuid() != 0 && !spec.HasNamespace(s, specs.UserNamespace) {
		return nil, fmt.Errorf("hako must run as root to create namespaces (running as uid %d) — hint: use sudo, or write a rootless config with `hako spec --rootless`", os.Geteuid())
	}
	terminal := s.Process != nil && s.Process.Terminal
	if terminal && o.ConsoleSocket == "" && !o.KeepConsole {
		return nil, fmt.Errorf("process.terminal is true but no --console-socket was given — hint: pass --console-socket PATH, or set \"terminal\": false in config.json")
	}
	if !terminal && o.ConsoleSocket != "" {
		return nil, fmt.Errorf("--console-socket was given but process.terminal is false — hint: set \"terminal\": true in config.json")
	}
	if o.PreserveFDs < 0 {
		return nil, fmt.Errorf("--preserve-fds must not be negative")
	}
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	if rootfs, err = filepath.EvalSymlinks(rootfs); err != nil {
		return nil, fmt.Errorf("root.path %q: %w", s.Root.Path, err)
	}
	// Socket activation, as runc does: fds passed by systemd (LISTEN_FDS)
	// are kept before the --preserve-fds ones, and the process is told.
	listen := listenFDs()
	if listen > 0 && s.Process != nil {
		s.Process.Env = append(s.Process.Env, "LISTEN_FDS="+strconv.Itoa(listen), "LISTEN_PID=1")
		config = nil
	}
	// The state keeps the config as read (it decodes to s) unless create
	// changed s; it is stored in state.json, not in a file of its own.
	specJSON := json.RawMessage(config)
	if config == nil {
		if specJSON, err = json.Marshal(s); err != nil {
			return nil, err
		}
	}

	prog, err := r.compileSeccomp(s)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", o.ID, err)
	}

	dir, err := r.Store.Create(o.ID)
	if err != nil {
		return nil, err
	}
	var cg cgroup.Manager
	var in *spawn.Init
	defer func() {
		if retErr == nil {
			return
		}
		if in != nil {
			in.Kill()
			in.Wait()
			if in.Console != nil {
				in.Console.Close()
			}
		}
		if cg != nil {
			cg.Destroy()
		}
		os.RemoveAll(dir)
	}()
	unlock, err := r.Store.Lock(o.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()

	sc := &state.Container{
		OCIVersion:  s.Version,
		ID:          o.ID,
		Bundle:      bundle,
		Rootfs:      rootfs,
		Created:     time.Now().UTC(),
		Owner:       ownerName(),
		Annotations: s.Annotations,
		Config:      specJSON,
		Hooks:       s.Hooks,
		NoProcess:   s.Process == nil,
	}
	fifoPath := filepath.Join(dir, state.FifoFile)
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("creating exec fifo %s: %w", fifoPath, err)
	}
	// mkfifo honours our umask (022 makes it 0600): a process.user other
	// than root could then not open it for writing and would fail at start.
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("exec fifo %s: %w", fifoPath, err)
	}
	if uid, gid, ok := rootIDs(s); ok {
		os.Chown(fifoPath, uid, gid)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening exec fifo: %w", err)
	}
	defer fifo.Close()

	m, err := cgroup.New(cgroup.Config{
		Path: s.Linux.CgroupsPath, ID: o.ID, Systemd: r.Systemd, Rootless: os.Geteuid() != 0,
		Resources: s.Linux.Resources, Devices: s.Linux.Devices,
	})
	if err != nil {
		return nil, err
	}
	// A cgroup that holds processes already is someone else's: the
	// container's limits, freezing and kill --all would reach them (runc
	// 1.2+ refuses it too). It is left as it was.
	if pids := m.Occupied(); len(pids) > 0 {
		return nil, fmt.Errorf("linux.cgroupsPath %q: the cgroup is not empty: %d process(es) in it already (pid %d first) — hint: give the container a cgroup of its own, or stop those processes", s.Linux.CgroupsPath, len(pids), pids[0])
	}
	cg = m
	extra, err := preservedFiles(listen + o.PreserveFDs)
	if err != nil {
		return nil, err
	}
	// The process's environment as runc makes it (each name once, HOME);
	// the state keeps the config as it was.
	run := s
	if s.Process != nil {
		env, err := processEnv("process.env", s.Process.Env, s.Process.User.UID, rootfs, s.Mounts)
		if err != nil {
			return nil, err
		}
		p, cp := *s.Process, *s
		p.Env, cp.Process = env, &p
		run = &cp
	}
	in, err = spawn.Start(&spawn.Options{
		ID: o.ID, Bundle: bundle, Rootfs: rootfs, Spec: run,
		NoPivot: o.NoPivot, ExtraFiles: extra,
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr,
		Fifo:            fifo,
		StateJSON:       containerHooksState(s, sc),
		Seccomp:         prog,
		SeccompListener: seccompAgent(s, sc, state.Creating),
		// The parent makes the cgroup and moves the child in while the
		// child mounts; the child waits for it only before it unshares
		// the cgroup namespace.
		ApplyCgroup: cg.Apply,
		PrePivot: func(pid int) error {
			// Network devices before the hooks, which may configure
			// them.
			if err := netdev.Move(s.Linux.NetDevices, "/proc/"+strconv.Itoa(pid)+"/ns/net"); err != nil {
				return err
			}
			if s.Hooks == nil {
				return nil
			}
			st := hookState(sc, state.Created, pid)
			if err := hooks.Run("prestart", s.Hooks.Prestart, st); err != nil { //nolint:staticcheck // prestart is deprecated but still honoured
				return err
			}
			return hooks.Run("createRuntime", s.Hooks.CreateRuntime, st)
		},
	})
	if err != nil {
		var se *spawn.Error
		if errors.As(err, &se) {
			return nil, fmt.Errorf("container %q: %w", o.ID, err)
		}
		return nil, err
	}
	sc.InitPid = in.Pid
	start, _, err := state.ProcStartTime(in.Pid)
	if err != nil {
		return nil, fmt.Errorf("reading the init's start time: %w", err)
	}
	sc.InitStart = start
	sc.Cgroup, _ = json.Marshal(cg.State())
	sc.Namespaces = nsPaths(s, in.Pid)
	if in.Console != nil && o.ConsoleSocket != "" {
		if err := sendConsole(o.ConsoleSocket, in.Console); err != nil {
			return nil, err
		}
		in.Console.Close()
		in.Console = nil
	}
	if o.PidfdSocket != "" {
		if err := sendPidfd(o.PidfdSocket, in.Pid); err != nil {
			return nil, err
		}
	}
	if err := r.Store.Save(sc); err != nil {
		return nil, err
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, in.Pid); err != nil {
			return nil, err
		}
	}
	c := &Container{Container: sc, Status: state.Created, dir: dir, cg: cg}
	return &Created{Container: c, Init: in}, nil
}

// checkMinimal holds the checks create cannot run without, even when the
// caller skipped full validation.
func checkMinimal(s *specs.Spec, bundle string) error {
	file := filepath.Join(bundle, spec.ConfigName)
	if s.Root == nil || s.Root.Path == "" {
		return fmt.Errorf("%s: root.path: missing — hint: set \"root\": {\"path\": \"rootfs\"}", file)
	}
	rp := s.Root.Path
	if !filepath.IsAbs(rp) {
		rp = filepath.Join(bundle, rp)
	}
	fi, err := os.Stat(rp)
	if err != nil {
		return fmt.Errorf("%s: root.path: %q: no such file or directory — hint: unpack an image into %s (e.g. `hako bundle IMAGE %s`)", file, s.Root.Path, rp, bundle)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: root.path: %q is not a directory", file, s.Root.Path)
	}
	if s.Process == nil {
		return nil // the container can be created; start refuses it
	}
	if len(s.Process.Args) == 0 || s.Process.Args[0] == "" {
		return fmt.Errorf("%s: process.args: empty — hint: name the program to run, e.g. \"args\": [\"sh\"]", file)
	}
	return nil
}

// rootIDs is the host uid/gid of the container's root in a user namespace.
func rootIDs(s *specs.Spec) (int, int, bool) {
	if !spec.HasNamespace(s, specs.UserNamespace) {
		return 0, 0, false
	}
	uid, gid := -1, -1
	for _, m := range s.Linux.UIDMappings {
		if m.ContainerID == 0 {
			uid = int(m.HostID)
		}
	}
	for _, m := range s.Linux.GIDMappings {
		if m.ContainerID == 0 {
			gid = int(m.HostID)
		}
	}
	return uid, gid, uid >= 0 && gid >= 0
}

func nsPaths(s *specs.Spec, pid int) map[string]string {
	m := map[string]string{}
	if s.Linux == nil {
		return m
	}
	files := map[specs.LinuxNamespaceType]string{
		specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.MountNamespace: "mnt",
		specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.UserNamespace: "user",
		specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
	}
	for _, n := range s.Linux.Namespaces {
		if f, ok := files[n.Type]; ok {
			m[string(n.Type)] = "/proc/" + strconv.Itoa(pid) + "/ns/" + f
		}
	}
	return m
}

// listenFDs is $LISTEN_FDS when it names fds passed to this process.
func listenFDs() int {
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return 0
	}
	if pid := os.Getenv("LISTEN_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return n
}

func preservedFiles(n int) ([]*os.File, error) {
	var fs []*os.File
	for i := 0; i < n; i++ {
		fd := 3 + i
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return nil, fmt.Errorf("--preserve-fds %d: fd %d is not open", n, fd)
		}
		fs = append(fs, os.NewFile(uintptr(fd), "preserved-"+strconv.Itoa(fd)))
	}
	return fs, nil
}

// checkPidFileDir fails when the --pid-file cannot be written where it is
// asked for because its directory is missing: checked before an exec'd
// process starts, so that nothing runs whose pid no one would learn.
func checkPidFileDir(path string) error {
	if path == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(abs)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if err == nil {
			err = unix.ENOTDIR
		}
		return fmt.Errorf("--pid-file %s: its directory %s: %w — hint: create the directory first; nothing was started", path, dir, err)
	}
	return nil
}

func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if err := state.WriteFileAtomic(abs, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("--pid-file %s: %w", path, err)
	}
	return nil
}

// sendConsole passes the pty master to the --console-socket listener with
// SCM_RIGHTS, as containerd and podman expect.
func sendConsole(path string, master *os.File) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("--console-socket %s: connect: %w — hint: the socket must be listening (containerd and podman create it)", path, err)
	}
	name := []byte(master.Name())
	if err := unix.Sendmsg(fd, name, unix.UnixRights(int(master.Fd())), nil, 0); err != nil {
		return fmt.Errorf("--console-socket %s: sending the terminal: %w", path, err)
	}
	return nil
}

// sendPidfd passes a pidfd of process pid to the --pidfd-socket listener
// with SCM_RIGHTS (the message's bytes name it "pidfd"), as runc does.
func sendPidfd(path string, pid int) error {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("--pidfd-socket %s: pidfd_open(%d): %w", path, pid, err)
	}
	defer unix.Close(pfd)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("--pidfd-socket %s: connect: %w — hint: the socket must be listening", path, err)
	}
	if err := unix.Sendmsg(fd, []byte("pidfd"), unix.UnixRights(pfd), nil, 0); err != nil {
		return fmt.Errorf("--pidfd-socket %s: sending the pidfd: %w", path, err)
	}
	return nil
}

// containerHooksState is the state createContainer and startContainer
// hooks read, when there are any.
func containerHooksState(s *specs.Spec, sc *state.Container) []byte {
	if s.Hooks == nil || len(s.Hooks.CreateContainer)+len(s.Hooks.StartContainer) == 0 {
		return nil
	}
	return hookState(sc, state.Created, 0)
}
