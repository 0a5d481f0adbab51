package cli

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/spec"
)

func init() { register(newSpecCmd) }

func newSpecCmd() *cobra.Command {
	var bundle string
	var rootless bool
	cmd := &cobra.Command{
		Use:   "spec",
		Short: "create a new specification file (config.json)",
		Long: `Writes a default config.json into the bundle directory: the same namespaces,
mounts, masked and read-only paths as "runc spec", the three default
capabilities and no inheritable or ambient set. Edit it, put a root
filesystem in rootfs/, and "hako run ID".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s := spec.Default()
			if rootless {
				spec.ToRootless(s, uint32(os.Geteuid()), uint32(os.Getegid()))
			}
			return spec.WriteNew(filepath.Join(bundle, spec.ConfigName), s)
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "path to the root of the bundle directory")
	cmd.Flags().BoolVar(&rootless, "rootless", false, "generate a configuration for a rootless container")
	return cmd
}
