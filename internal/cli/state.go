package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func init() { register(newStateCmd) }

func newStateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "state <container-id>",
		Short: "output the state of a container (OCI state JSON)",
		Args:  exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			c, err := rt.Load(args[0])
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(c.OCI(), "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
}
