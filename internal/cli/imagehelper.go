package cli

import (
	"fmt"
	"os"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/cli/cliroot"
	"github.com/hako-dev/hako/internal/helperbin"

	"github.com/hako-dev/hako/internal/timerslack"
)

// The image verbs live in the helper binary hako-image (as git runs
// git-remote-https), so that this binary, started for every `hako run`,
// does not initialise and fault in a registry client, HTTP, TLS and
// decompressors. hako lists the verbs and execs the helper with its own
// argv, global flags included; exit status, stdio and signals are then the
// helper's own.

func init() {
	for _, v := range cliroot.ImageVerbs {
		register(func() *cobra.Command { return newImageVerbCmd(v) })
	}
}

func newImageVerbCmd(v cliroot.Verb) *cobra.Command {
	cmd := &cobra.Command{
		Use:   v.Use,
		Short: v.Short,
		Long: v.Short + ".\n\nRun by the helper binary " + cliroot.ImageHelper + ", found through $" + cliroot.ImageHelperEnv +
			",\nnext to hako, or in $PATH; `hako " + v.Name + " --help` shows its flags.",
		// The helper parses every flag, the global ones included.
		DisableFlagParsing: true,
		// ... and sets up logging itself: nothing to open here.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
	}
	stubHelp := cmd.HelpFunc()
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		err := execImageHelper(v.Name)
		if wantsHelp(args) {
			stubHelp(cmd, args)
		}
		return err
	}
	// `hako help VERB` reaches here; the helper answers the same argv.
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		err := execImageHelper(v.Name)
		stubHelp(c, args)
		cliroot.Report(err)
	})
	return cmd
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	if i := slices.Index(args, "--"); i >= 0 {
		args = args[:i]
	}
	return slices.Contains(args, "-h") || slices.Contains(args, "--help")
}

// execImageHelper replaces this process with the image helper, given this
// process's arguments unchanged. It returns only on failure.
func execImageHelper(verb string) error {
	path, err := findImageHelper()
	if err != nil {
		return fmt.Errorf("%s needs %w", verb, err)
	}
	argv := append([]string{cliroot.ImageHelper}, os.Args[1:]...)
	err = timerslack.Fork(func() error { return syscall.Exec(path, argv, os.Environ()) })
	return fmt.Errorf("%s: running the image helper %s: %w", verb, path, err)
}

// findImageHelper locates hako-image: $HAKO_IMAGE_BINARY if set, else next
// to the running executable, else in $PATH.
func findImageHelper() (string, error) {
	p, err := helperbin.Find(cliroot.ImageHelper, cliroot.ImageHelperEnv)
	if err != nil {
		return "", fmt.Errorf("the image helper %w", err)
	}
	return p, nil
}
