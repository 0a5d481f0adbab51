package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/runtime"
	"github.com/hako-dev/hako/internal/state"
	"github.com/hako-dev/hako/internal/timerslack"
)

func init() { register(newPsCmd) }

func newPsCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "ps [flags] <container-id> [ps options]",
		Short: "display the processes running inside a container",
		Long: `Lists the container's processes with the host's ps (default options -ef),
keeping only the lines of processes in the container's cgroup.
--format json prints their host pids as a JSON array, as containerd expects.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return fmt.Errorf("\"ps\" requires the container id — usage: %s", cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			pids, err := rt.Pids(args[0])
			var se *runtime.StateError
			if errors.As(err, &se) && se.Status == state.Stopped {
				// As runc: a stopped container has no processes to show.
				if format == "json" {
					fmt.Fprintln(cmd.OutOrStdout(), "[]")
				}
				return nil
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				if pids == nil {
					pids = []int{}
				}
				return json.NewEncoder(out).Encode(pids)
			case "table":
			default:
				return fmt.Errorf("--format %q is not supported: use table or json", format)
			}
			psArgs := args[1:]
			if len(psArgs) == 0 {
				psArgs = []string{"-ef"}
			}
			var psOut []byte
			err = timerslack.Fork(func() (err error) {
				psOut, err = exec.Command("ps", psArgs...).Output()
				return err
			})
			if err != nil {
				return fmt.Errorf("running ps %s: %w", strings.Join(psArgs, " "), err)
			}
			lines := strings.Split(strings.TrimRight(string(psOut), "\n"), "\n")
			pidCol := -1
			for i, h := range strings.Fields(lines[0]) {
				if h == "PID" {
					pidCol = i
				}
			}
			if pidCol < 0 {
				return fmt.Errorf("ps %s printed no PID column — hint: keep the pid in the ps options", strings.Join(psArgs, " "))
			}
			in := map[int]bool{}
			for _, p := range pids {
				in[p] = true
			}
			var b bytes.Buffer
			b.WriteString(lines[0] + "\n")
			for _, l := range lines[1:] {
				f := strings.Fields(l)
				if len(f) <= pidCol {
					continue
				}
				if p, err := strconv.Atoi(f[pidCol]); err == nil && in[p] {
					b.WriteString(l + "\n")
				}
			}
			_, err = out.Write(b.Bytes())
			return err
		},
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVarP(&format, "format", "f", "table", "select one of: table or json")
	return cmd
}
