package cli

import "github.com/spf13/cobra"

func init() { register(newStartCmd) }

func newStartCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "start <container-id>",
		Short: "execute the user process of a created container",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			return rt.Start(args[0])
		},
	}
}
