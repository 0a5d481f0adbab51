package cli

import (
	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/runtime"
)

func init() { register(newCreateCmd) }

func addCreateFlags(cmd *cobra.Command, o *runtime.CreateOptions) {
	f := cmd.Flags()
	f.StringVarP(&o.Bundle, "bundle", "b", ".", "path to the root of the bundle directory")
	f.StringVar(&o.PidFile, "pid-file", "", "specify the file to write the process id to")
	f.StringVar(&o.ConsoleSocket, "console-socket", "", "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal")
	f.StringVar(&o.PidfdSocket, "pidfd-socket", "", "path to an AF_UNIX socket which will receive a file descriptor referencing the init process")
	f.BoolVar(&o.NoPivot, "no-pivot", false, "do not use pivot root to jail process inside rootfs")
	f.IntVar(&o.PreserveFDs, "preserve-fds", 0, "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)")
	f.Bool("no-new-keyring", false, "accepted for runc compatibility (hako creates no session keyring)")
	o.Validate = validateBundle
}

func newCreateCmd() *cobra.Command {
	var o runtime.CreateOptions
	cmd := &cobra.Command{
		Use:   "create [flags] <container-id>",
		Short: "create a container (its process waits for `start`)",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			o.ID = args[0]
			_, err = rt.Create(o)
			return err
		},
	}
	addCreateFlags(cmd, &o)
	return cmd
}
