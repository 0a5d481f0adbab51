package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/runtime"
)

func init() { register(newListCmd) }

func newListCmd() *cobra.Command {
	var quiet bool
	var format string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "list containers started by hako with the given --root",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format %q is not supported: use table or json", format)
			}
			// As runc: an absent default root holds no containers, an
			// absent --root given by name is a mistake.
			if f := cmd.Root().PersistentFlags().Lookup("root"); f != nil && f.Changed {
				if _, err := os.Stat(globals.Root); err != nil {
					return fmt.Errorf("--root %s: %w — hint: is it the --root the containers were created with?", globals.Root, err)
				}
			}
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			cs, err := rt.List()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if quiet {
				for _, c := range cs {
					fmt.Fprintln(out, c.ID)
				}
				return nil
			}
			if format == "json" {
				states := []runtime.OCIState{}
				for _, c := range cs {
					states = append(states, c.OCI())
				}
				return json.NewEncoder(out).Encode(states)
			}
			w := tabwriter.NewWriter(out, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, c := range cs {
				st := c.OCI()
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", st.ID, st.Pid, st.Status, st.Bundle, st.Created.Format(time.RFC3339Nano), st.Owner)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "display only container IDs")
	cmd.Flags().StringVarP(&format, "format", "f", "table", "select one of: table or json")
	return cmd
}
