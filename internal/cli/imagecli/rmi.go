package imagecli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/image"
)

func init() { register(newRmiCmd) }

func newRmiCmd() *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:   "rmi [flags] REF...",
		Short: "remove images from the image store",
		Long: `Removes an image's name from the store (by digest: every name of that image),
then every blob no remaining image needs. Bundles already made from the image
are not affected.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := image.Open(root)
			if err != nil {
				return err
			}
			var errs []error
			for _, ref := range args {
				removed, err := s.Remove(ref)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				for _, r := range removed {
					if r.Name != "" {
						fmt.Fprintf(cmd.OutOrStdout(), "Untagged: %s\n", r.Name)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "Deleted: %s\n", r.Digest)
				}
			}
			return errors.Join(errs...)
		},
	}
	addImageRootFlag(cmd, &root)
	return cmd
}
