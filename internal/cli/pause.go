package cli

import "github.com/spf13/cobra"

func init() {
	register(newPauseCmd)
	register(newResumeCmd)
}

func newPauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pause <container-id>",
		Short: "suspend all processes inside the container (cgroup freezer)",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			return rt.Pause(args[0])
		},
	}
}

func newResumeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "resume <container-id>",
		Short: "resume all processes that have been previously paused",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			return rt.Resume(args[0])
		},
	}
}
