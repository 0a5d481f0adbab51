package imagecli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/image"
)

func init() { register(newImagesCmd) }

// addImageRootFlag adds --image-root, defaulting to $HAKO_IMAGE_ROOT or
// /var/lib/hako.
func addImageRootFlag(cmd *cobra.Command, p *string) {
	def := image.DefaultRoot
	if env := os.Getenv("HAKO_IMAGE_ROOT"); env != "" {
		def = env
	}
	cmd.Flags().StringVar(p, "image-root", def, "directory of the image store, an OCI image layout (env HAKO_IMAGE_ROOT)")
}

func newImagesCmd() *cobra.Command {
	var root, format string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "images [flags]",
		Short: "list the images in the image store",
		Long: `Lists the images of the store (--image-root): full name, digest of the image
manifest, platform, size of its compressed blobs and creation time. An image
imported without a name shows <none>; refer to it by its digest.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := image.Open(root)
			if err != nil {
				return err
			}
			list, err := s.List()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case quiet:
				for _, r := range list {
					fmt.Fprintln(out, r.Digest)
				}
				return nil
			case format == "json":
				type item struct {
					Name     string    `json:"name,omitempty"`
					Digest   string    `json:"digest"`
					Platform string    `json:"platform,omitempty"`
					Size     int64     `json:"size"`
					Created  time.Time `json:"created,omitzero"`
				}
				items := []item{}
				for _, r := range list {
					items = append(items, item{r.Name, r.Digest.String(), r.Platform, r.Size, r.Created})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			case format != "table":
				return fmt.Errorf("--format %q is not supported: use \"table\" or \"json\"", format)
			}
			tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDIGEST\tPLATFORM\tSIZE\tCREATED")
			for _, r := range list {
				n := r.Name
				if n == "" {
					n = "<none>"
				}
				created := "-"
				if !r.Created.IsZero() {
					created = r.Created.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n, shortDigest(r.Digest.String()), r.Platform, image.HumanSize(r.Size), created)
			}
			return tw.Flush()
		},
	}
	addImageRootFlag(cmd, &root)
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print the digests only")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func shortDigest(d string) string {
	hex := strings.TrimPrefix(d, "sha256:")
	if len(hex) > 12 {
		return "sha256:" + hex[:12]
	}
	return d
}
