package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/inspect"
)

func init() { register(newDoctorCmd) }

func newDoctorCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "check what this host offers containers, and what is missing",
		Long: `Examines the host: root or not, the kernel, each namespace type, user
namespaces, the cgroup mode and controllers, overlayfs, seccomp, AppArmor and
SELinux, pidfd_open and clone3, newuidmap. One line per check (ok, warn or
fail) with a hint. Exit status 1 when a container cannot run here.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: must be text or json", format)
			}
			r := inspect.Doctor(inspect.ThisHost())
			var err error
			if format == "json" {
				err = r.WriteJSON(cmd.OutOrStdout())
			} else {
				err = r.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if !r.CanRun {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
