package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/inspect"
	"github.com/hako-dev/hako/internal/state"
)

func init() { register(newInspectCmd) }

func newInspectCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [--format text|json] <container-id>",
		Short: "show what the kernel gave a container: namespaces next to the host's, cgroups, capabilities",
		Long: `Reads the container's init from /proc — not its config.json — and shows each
namespace next to the host's (those hako itself runs in), its uid/gid maps, cgroups, capability
sets, no_new_privs and seccomp mode: the isolation the kernel really applied.`,
		Args: exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			c, err := rt.Load(args[0])
			if err != nil {
				return err
			}
			if c.Status == state.Stopped {
				return fmt.Errorf("container %q: container not running: there is no process left to inspect", args[0])
			}
			// "host" is where hako runs: its own namespaces.
			iso, err := inspect.Process(c.InitPid, os.Getpid())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				return json.NewEncoder(out).Encode(iso)
			case "text":
				fmt.Fprintf(out, "container %s: pid %d, %s, rootfs %s\n\n", c.ID, c.InitPid, c.Status, c.Rootfs)
				_, err := fmt.Fprint(out, iso.Text())
				return err
			}
			return fmt.Errorf("--format %q is not supported: use text or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}
