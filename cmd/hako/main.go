// Command hako is an OCI container runtime with a runc-compatible command
// line and an image-to-bundle toolkit. main only dispatches.
package main

import (
	"os"

	"github.com/hako-dev/hako/internal/cli"
)

func main() {
	os.Exit(cli.Execute())
}
