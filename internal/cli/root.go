// Package cli is hako's command line: one file per subcommand, each turning
// flags into calls on the library packages and errors into a message and an
// exit code. It holds no container logic.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/logging"
)

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "0.1.0-dev"

// Globals are the flags every subcommand shares, spelled as runc spells them.
type Globals struct {
	Root          string
	Log           string
	LogFormat     string
	Debug         bool
	SystemdCgroup bool
	Rootless      string
}

var (
	globals   Globals
	registry  []func() *cobra.Command
	logCloser io.Closer
)

// register adds a subcommand constructor; each command file calls it from init.
func register(f func() *cobra.Command) { registry = append(registry, f) }

// ExitError carries a specific exit status (e.g. the container process's).
type ExitError struct {
	Code int
	Err  error // may be nil: exit silently with Code
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// NewRoot builds the command tree.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "hako",
		Short: "hako (箱) — an OCI container runtime and image-to-container toolkit",
		Long: `hako runs OCI bundles like runc does (same verbs, flags and output), and turns
images into bundles: pull or import an image, unpack it safely, write config.json.`,
		Version:           versionString(),
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			f, err := logging.ParseFormat(globals.LogFormat)
			if err != nil {
				return err
			}
			c, err := logging.Setup(globals.Log, f, globals.Debug)
			if err != nil {
				return err
			}
			logCloser = c
			return nil
		},
	}
	root.SetVersionTemplate("{{.Version}}")
	pf := root.PersistentFlags()
	pf.StringVar(&globals.Root, "root", "/run/hako", "root directory for storage of container state (this should be located in tmpfs)")
	pf.StringVar(&globals.Log, "log", "", "set the log file to write hako logs to (default is stderr)")
	pf.StringVar(&globals.LogFormat, "log-format", "text", "set the log format ('text' (default), or 'json')")
	pf.BoolVar(&globals.Debug, "debug", false, "enable debug logging")
	pf.BoolVar(&globals.SystemdCgroup, "systemd-cgroup", false, "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for e.g. \"system.slice:hako:434234\"")
	pf.StringVar(&globals.Rootless, "rootless", "auto", "ignore cgroup permission errors ('true', 'false', or 'auto')")
	for _, f := range registry {
		root.AddCommand(f())
	}
	return root
}

func versionString() string {
	commit := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	return fmt.Sprintf("hako version %s\ncommit: %s\nspec: %s\n", Version, commit, specs.Version)
}

// Execute runs the CLI and returns the process exit code.
func Execute() int {
	root := NewRoot()
	err := root.Execute()
	code := 0
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			code = ee.Code
			if ee.Err != nil {
				report(ee.Err)
			}
		} else {
			code = 1
			report(err)
		}
	}
	if logCloser != nil {
		logCloser.Close()
	}
	return code
}

// report writes an error for a person on stderr ("hako: ..."), and, when
// --log is given, also as a runc-style line in the log, where containerd
// reads the msg of the last error line.
func report(err error) {
	if globals.Log != "" {
		slog.Error(err.Error())
	}
	fmt.Fprintln(os.Stderr, "hako: "+err.Error())
}
