// Package cli is hako's command line: one file per subcommand, each turning
// flags into calls on the library packages and errors into a message and an
// exit code. It holds no container logic.
//
// It is the runtime binary's command line and links nothing of the image
// half: the image verbs (pull, images, rmi, import, bundle) are listed here
// and run by the helper binary hako-image (see imagehelper.go and
// internal/cli/imagecli).
package cli

import (
	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/cli/cliroot"

	"github.com/hako-dev/hako/internal/timerslack"
)

// Globals are the flags every subcommand shares, spelled as runc spells them.
type Globals = cliroot.Globals

// ExitError carries a specific exit status (e.g. the container process's).
type ExitError = cliroot.ExitError

var (
	globals  = &cliroot.Global
	registry []func() *cobra.Command
)

// register adds a subcommand constructor; each command file calls it from init.
func register(f func() *cobra.Command) { registry = append(registry, f) }

// NewRoot builds the command tree.
func NewRoot() *cobra.Command {
	root := cliroot.NewRoot("hako", "hako (箱) — an OCI container runtime and image-to-container toolkit",
		`hako runs OCI bundles like runc does (same verbs, flags and output), and turns
images into bundles: pull or import an image, unpack it safely, write config.json.`)
	for _, f := range registry {
		root.AddCommand(f())
	}
	return root
}

// Execute runs the CLI and returns the process exit code.
func Execute() int {
	timerslack.Raise()
	return cliroot.Execute(NewRoot())
}
