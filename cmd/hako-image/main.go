// Command hako-image is the helper binary of hako's image half (pull,
// images, rmi, import, bundle). hako execs it for those verbs, so that the
// runtime binary stays small and quick to start; see internal/cli/imagecli.
package main

import (
	"os"

	"github.com/hako-dev/hako/internal/cli/imagecli"
)

func main() { os.Exit(imagecli.Execute()) }
