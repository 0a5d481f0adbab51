package imagecli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/image"
)

func init() { register(newImportCmd) }

func newImportCmd() *cobra.Command {
	var root, name, platform string
	cmd := &cobra.Command{
		Use:   "import [flags] FILE|DIR",
		Short: "import a docker save or docker export archive, or an OCI image layout",
		Long: `Adds images to the image store from:
  - a "docker save" archive (tar, possibly gzip), named by its RepoTags;
  - a "docker export" root filesystem archive (tar, plain or gzip or zstd),
    which becomes a one-layer image without a command;
  - an OCI image layout, a directory or a tar, named by its annotations.
The kind is detected from the content. --name names the image (the archive
must hold one image); without a name an image is known by its digest.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := image.Open(root)
			if err != nil {
				return err
			}
			ctx, cancel := interruptible()
			defer cancel()
			recs, kind, err := s.Import(ctx, args[0], image.ImportOptions{Name: name, Platform: platform})
			if err != nil {
				return err
			}
			for _, r := range recs {
				n := r.Name
				if n == "" {
					n = "<none> (name it with --name, or use the digest)"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Imported %s\n  from: %s\n  digest: %s\n  platform: %s\n", n, kind, r.Digest, r.Platform)
			}
			return nil
		},
	}
	addImageRootFlag(cmd, &root)
	cmd.Flags().StringVar(&name, "name", "", "name for the imported image, e.g. myapp:1.0")
	cmd.Flags().StringVar(&platform, "platform", "", "platform to take from a multi-platform layout, or to record for a root filesystem (default linux/<this machine's architecture>)")
	return cmd
}
