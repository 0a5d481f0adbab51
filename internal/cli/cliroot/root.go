package cliroot

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/logging"
)

// Version is set at build time with
// -ldflags "-X github.com/hako-dev/hako/internal/cli/cliroot.Version=...".
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

// Global holds the parsed global flags of the running command line.
var Global Globals

var logCloser io.Closer

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

// NewRoot returns a root command named use, with the global flags bound to
// Global and a pre-run hook that sets up logging from them.
func NewRoot(use, short, long string) *cobra.Command {
	root := &cobra.Command{
		Use:               use,
		Short:             short,
		Long:              long,
		Version:           versionString(),
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// An unprivileged user's containers live under its
			// $XDG_RUNTIME_DIR unless --root says otherwise, as runc's.
			if rf := cmd.Root().PersistentFlags().Lookup("root"); rf != nil && !rf.Changed && os.Geteuid() != 0 {
				if xdg := os.Getenv("XDG_RUNTIME_DIR"); xdg != "" {
					Global.Root = filepath.Join(xdg, "hako")
				}
			}
			f, err := logging.ParseFormat(Global.LogFormat)
			if err != nil {
				return err
			}
			c, err := logging.Setup(Global.Log, f, Global.Debug)
			if err != nil {
				return err
			}
			logCloser = c
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&Global.Root, "root", "/run/hako", "root directory for storage of container state (this should be located in tmpfs)")
	pf.StringVar(&Global.Log, "log", "", "set the log file to write hako logs to (default is stderr)")
	pf.StringVar(&Global.LogFormat, "log-format", "text", "set the log format ('text' (default), or 'json')")
	pf.BoolVar(&Global.Debug, "debug", false, "enable debug logging")
	pf.BoolVar(&Global.SystemdCgroup, "systemd-cgroup", false, "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for e.g. \"system.slice:hako:434234\"")
	pf.StringVar(&Global.Rootless, "rootless", "auto", "ignore cgroup permission errors ('true', 'false', or 'auto')")
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
	// cobra prints "<name> version " before it and a newline after it
	// (without a template: text/template would keep every exported method
	// in the binary, see the README's Performance section).
	return fmt.Sprintf("%s\ncommit: %s\nspec: %s", Version, commit, specs.Version)
}

// Execute runs root and returns the process exit code.
func Execute(root *cobra.Command) int {
	err := root.Execute()
	code := 0
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			code = ee.Code
			if ee.Err != nil {
				Report(ee.Err)
			}
		} else {
			code = 1
			Report(err)
		}
	}
	if logCloser != nil {
		logCloser.Close()
	}
	return code
}

// Report writes an error for a person on stderr ("hako: ..."), and, when
// --log is given, also as a runc-style line in the log, where containerd
// reads the msg of the last error line.
func Report(err error) {
	if Global.Log != "" {
		slog.Error(err.Error())
	}
	fmt.Fprintln(os.Stderr, "hako: "+err.Error())
}
