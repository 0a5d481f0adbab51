package imagecli

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/hako-dev/hako/internal/image"
)

func init() { register(newPullCmd) }

// imageProgress picks the progress display: bars on a terminal, lines
// otherwise, nothing with --quiet.
func imageProgress(quiet bool) image.Progress {
	switch {
	case quiet:
		return image.Quiet{}
	case term.IsTerminal(int(os.Stderr.Fd())):
		return image.NewBars(os.Stderr)
	}
	return &image.Lines{W: os.Stderr}
}

// interruptible is a context cancelled by SIGINT or SIGTERM.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
}

func newPullCmd() *cobra.Command {
	var root, platform string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull [flags] REF",
		Short: "pull an image from a registry into the image store",
		Long: `Pulls an image (e.g. alpine:3.20, registry.example:5000/app@sha256:…) for one
platform (--platform, default linux and this machine's architecture) into the
image store, with the credentials of ~/.docker/config.json and its credential
helpers (docker login). Blobs already in the store are not fetched again;
every blob is checked against its digest before it is kept.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := image.Open(root)
			if err != nil {
				return err
			}
			ctx, cancel := interruptible()
			defer cancel()
			rec, err := s.Pull(ctx, args[0], image.PullOptions{Platform: platform, Progress: imageProgress(quiet)})
			if err != nil {
				return err
			}
			if quiet {
				fmt.Fprintln(cmd.OutOrStdout(), rec.Name)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Pulled %s\n  digest: %s\n  platform: %s\n  size: %s\n",
				rec.Name, rec.Digest, rec.Platform, image.HumanSize(rec.Size))
			return nil
		},
	}
	addImageRootFlag(cmd, &root)
	cmd.Flags().StringVar(&platform, "platform", "", "platform to pull, os/arch[/variant] (default linux/<this machine's architecture>)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress; print the image's name only")
	return cmd
}
