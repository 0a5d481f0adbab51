package imagecli

import (
	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/cli/cliroot"
)

var registry []func() *cobra.Command

// register adds a subcommand constructor; each command file calls it from init.
func register(f func() *cobra.Command) { registry = append(registry, f) }

// NewRoot builds the helper's command tree. Its root is named "hako", as
// people type the verbs through hako, and it has hako's global flags, so
// that hako can hand over its argv unchanged.
func NewRoot() *cobra.Command {
	root := cliroot.NewRoot("hako", "hako's image half (run it as hako pull, images, rmi, import, bundle)",
		`hako-image is the helper binary behind hako's image verbs: hako pull, images,
rmi, import and bundle exec it with their arguments unchanged. It turns images
into OCI bundles; the runtime verbs are in hako itself.`)
	for _, f := range registry {
		root.AddCommand(f())
	}
	return root
}

// Execute runs the helper's command line and returns the exit code.
func Execute() int { return cliroot.Execute(NewRoot()) }
