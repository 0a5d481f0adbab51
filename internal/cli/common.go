package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/runtime"
)

func openRuntime() (*runtime.Runtime, error) {
	return runtime.Open(globals.Root, globals.SystemdCgroup)
}

// exactID checks that exactly one container id was given.
func exactID(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%q requires exactly 1 argument, the container id (got %d) — usage: %s", cmd.Name(), len(args), cmd.UseLine())
	}
	return nil
}
