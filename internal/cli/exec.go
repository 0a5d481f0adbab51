package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/runtime"
	"github.com/hako-dev/hako/internal/validate"
)

func init() { register(newExecCmd) }

type execFlags struct {
	o              runtime.ExecOptions
	processFile    string
	cwd            string
	env            []string
	tty            bool
	user           string
	additionalGids []int64
	noNewPrivs     bool
	caps           []string
	apparmor       string
	label          string
	cgroup         []string
}

func newExecCmd() *cobra.Command {
	var f execFlags
	cmd := &cobra.Command{
		Use:   "exec [flags] <container-id> <command> [args...]",
		Short: "execute a new process inside a running container",
		Long: `Runs another process in a running container's namespaces and cgroup, with
the container's own process settings (env, cwd, user, capabilities, rlimits,
seccomp) changed by the flags, or fully given by --process FILE as
containerd does.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return fmt.Errorf("\"exec\" requires the container id — usage: %s", cmd.UseLine())
			}
			if len(args) < 2 && f.processFile == "" {
				return fmt.Errorf("\"exec\" needs a command or --process FILE — usage: %s", cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			p, err := f.process(rt, args[0], args[1:], cmd)
			if err != nil {
				return err
			}
			f.o.Process = p
			if f.o.SubCgroups, err = subCgroups(f.cgroup); err != nil {
				return err
			}
			code, err := rt.Exec(args[0], f.o)
			if err != nil {
				return err
			}
			if code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.StringVar(&f.o.ConsoleSocket, "console-socket", "", "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal")
	fl.StringVar(&f.o.PidfdSocket, "pidfd-socket", "", "path to an AF_UNIX socket which will receive a file descriptor referencing the exec'd process")
	fl.StringVar(&f.cwd, "cwd", "", "current working directory in the container")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set environment variables (KEY=VALUE)")
	fl.BoolVarP(&f.tty, "tty", "t", false, "allocate a pseudo-TTY")
	fl.StringVarP(&f.user, "user", "u", "", "UID (format: <uid>[:<gid>])")
	fl.Int64SliceVarP(&f.additionalGids, "additional-gids", "g", nil, "additional gids")
	fl.StringVarP(&f.processFile, "process", "p", "", "path to the process.json")
	fl.BoolVarP(&f.o.Detach, "detach", "d", false, "detach from the container's process")
	fl.StringVar(&f.o.PidFile, "pid-file", "", "specify the file to write the process id to")
	fl.BoolVar(&f.noNewPrivs, "no-new-privs", false, "set the no new privileges value for the process")
	fl.StringArrayVarP(&f.caps, "cap", "c", nil, "add a capability to the bounding set for the process")
	fl.IntVar(&f.o.PreserveFDs, "preserve-fds", 0, "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)")
	fl.BoolVar(&f.o.IgnorePaused, "ignore-paused", false, "allow exec in a paused container")
	fl.StringVar(&f.label, "process-label", "", "set the asm process label for the process commonly used with selinux (hako applies none: refused where the host has SELinux, ignored with a warning elsewhere)")
	fl.StringVar(&f.apparmor, "apparmor", "", "set the apparmor profile for the process (hako applies none: refused where the host has AppArmor, ignored with a warning elsewhere)")
	fl.StringArrayVar(&f.cgroup, "cgroup", nil, "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.")
	return cmd
}

func (f *execFlags) process(rt *runtime.Runtime, id string, args []string, cmd *cobra.Command) (*specs.Process, error) {
	if f.processFile != "" {
		data, err := os.ReadFile(f.processFile)
		if err != nil {
			return nil, fmt.Errorf("--process %s: %w", f.processFile, err)
		}
		p, err := decodeProcess(data)
		if err != nil {
			return nil, fmt.Errorf("--process %s: not a valid process JSON: %w", f.processFile, err)
		}
		if len(p.Args) == 0 {
			return nil, fmt.Errorf("--process %s: args: empty — hint: name the program to run", f.processFile)
		}
		return p, nil
	}
	p, err := rt.DefaultProcess(id)
	if err != nil {
		return nil, err
	}
	p.Args = args
	if f.apparmor != "" {
		p.ApparmorProfile = f.apparmor // checked where the process is compiled
	}
	if f.label != "" {
		p.SelinuxLabel = f.label
	}
	if f.cwd != "" {
		p.Cwd = f.cwd
	}
	for _, e := range f.env {
		if !strings.Contains(e, "=") {
			return nil, fmt.Errorf("--env %q: expected KEY=VALUE", e)
		}
		p.Env = setEnv(p.Env, e)
	}
	p.Terminal = f.tty
	if f.user != "" {
		uid, gid, _ := strings.Cut(f.user, ":")
		u, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: expected <uid>[:<gid>] as numbers", f.user)
		}
		p.User.UID = uint32(u)
		if gid != "" {
			g, err := strconv.ParseUint(gid, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user %q: expected <uid>[:<gid>] as numbers", f.user)
			}
			p.User.GID = uint32(g)
		}
	}
	for _, g := range f.additionalGids {
		if g < 0 || g > 1<<32-1 {
			return nil, fmt.Errorf("--additional-gids %d: out of range", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if cmd.Flags().Changed("no-new-privs") {
		p.NoNewPrivileges = f.noNewPrivs
	}
	if len(f.caps) > 0 {
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		ambient := len(p.Capabilities.Ambient) > 0
		for _, c := range f.caps {
			c = strings.ToUpper(c)
			if !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			p.Capabilities.Bounding = append(p.Capabilities.Bounding, c)
			p.Capabilities.Effective = append(p.Capabilities.Effective, c)
			p.Capabilities.Permitted = append(p.Capabilities.Permitted, c)
			if ambient {
				// As runc 1.2+: where the process keeps capabilities
				// across execve (a non-root user), the added one too.
				p.Capabilities.Inheritable = append(p.Capabilities.Inheritable, c)
				p.Capabilities.Ambient = append(p.Capabilities.Ambient, c)
			}
		}
	}
	return p, nil
}

func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// decodeProcess decodes a process.json as encoding/json.Unmarshal does,
// without its cold start (half a millisecond of reflection in every `hako
// exec --process`, which is how containerd runs exec): as the process of a
// spec, with validate.Decode.
func decodeProcess(data []byte) (*specs.Process, error) {
	if !json.Valid(data) {
		var p specs.Process
		return nil, json.Unmarshal(data, &p) // encoding/json's words for the syntax error
	}
	s, err := validate.Decode(slices.Concat([]byte(`{"process":`), data, []byte("}")))
	if err != nil {
		var p specs.Process
		if uerr := json.Unmarshal(data, &p); uerr != nil {
			return nil, uerr // its words, with its offsets
		}
		return nil, err
	}
	if s.Process == nil {
		return &specs.Process{}, nil // the document was null
	}
	return s.Process, nil
}

// subCgroups reads the --cgroup flags as runc does: one PATH (for every
// hierarchy; cgroup v2's only one), or any number of
// CONTROLLER[,CONTROLLER...]:PATH (cgroup v1), each controller named once.
func subCgroups(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, a := range args {
		ctrls, path, ok := strings.Cut(a, ":")
		if !ok {
			if len(args) != 1 {
				return nil, fmt.Errorf("--cgroup %q: with several --cgroup flags each needs a controller — usage: --cgroup PATH, or --cgroup CONTROLLER[,CONTROLLER]:PATH per controller", a)
			}
			out[""] = a
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			if c == "" {
				return nil, fmt.Errorf("--cgroup %q: an empty controller name — usage: --cgroup CONTROLLER[,CONTROLLER]:PATH", a)
			}
			if _, dup := out[c]; dup {
				return nil, fmt.Errorf("--cgroup %q: the controller %s is named twice", a, c)
			}
			out[c] = path
		}
	}
	return out, nil
}
