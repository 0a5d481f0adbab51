package cli

import (
	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/runtime"
)

func init() { register(newRunCmd) }

func newRunCmd() *cobra.Command {
	var o runtime.RunOptions
	cmd := &cobra.Command{
		Use:   "run [flags] <container-id>",
		Short: "create and run a container",
		Long: `Creates and starts a container from the bundle. In the foreground it forwards
signals and the terminal, exits with the process's exit code (128+N when it
was killed by signal N) and removes the container unless --keep.`,
		Args: exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			o.ID = args[0]
			code, err := rt.Run(o)
			if err != nil {
				return err
			}
			if code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	addCreateFlags(cmd, &o.CreateOptions)
	cmd.Flags().BoolVarP(&o.Detach, "detach", "d", false, "detach from the container's process")
	cmd.Flags().BoolVar(&o.Keep, "keep", false, "do not delete the container after it exits")
	return cmd
}
