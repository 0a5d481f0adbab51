package imagecli

import (
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/bundle"
	"github.com/hako-dev/hako/internal/image"
)

func init() { register(newBundleCmd) }

func newBundleCmd() *cobra.Command {
	var root, entrypoint, hostname string
	var env []string
	var terminal, readonly, rootless, quiet bool
	cmd := &cobra.Command{
		Use:   "bundle [flags] REF DIR [-- ARGS...]",
		Short: "make an OCI bundle (rootfs/ and config.json) from an image",
		Long: `Unpacks an image of the store into DIR/rootfs and writes DIR/config.json from
the image's configuration: the command is Entrypoint + Cmd (ARGS replace Cmd;
--entrypoint replaces Entrypoint and drops Cmd), the environment is a default
PATH under the image's Env and -e, the working directory is WorkingDir, the
user is resolved with the image's own /etc/passwd and /etc/group. The rest is
"hako spec"'s defaults. The process gets no terminal unless --terminal, and
the root filesystem is writable unless --readonly.

  hako pull alpine:3.20 && hako bundle alpine:3.20 ./container -- echo hello
  cd container && hako run hello`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := image.Open(root)
			if err != nil {
				return err
			}
			unlock, err := s.ReadLock()
			if err != nil {
				return err
			}
			defer unlock()
			rec, err := s.Resolve(args[0])
			if err != nil {
				return err
			}
			img, err := s.Image(rec)
			if err != nil {
				return err
			}
			o := bundle.Options{
				Args: args[2:], Env: env, Hostname: hostname,
				Terminal: terminal, Readonly: readonly, Rootless: rootless,
				Annotations: map[string]string{"io.hako.image.digest": rec.Digest.String()},
			}
			if rec.Name != "" {
				o.Annotations[image.AnnotationRefName] = rec.Name
			}
			if rootless {
				o.RootlessUID, o.RootlessGID = uint32(os.Geteuid()), uint32(os.Getegid())
			}
			if cmd.Flags().Changed("entrypoint") {
				o.EntrypointSet = true
				if entrypoint != "" {
					o.Entrypoint = []string{entrypoint}
				}
			}
			u := bundle.Unpacking{}
			if !quiet {
				u.OnLayer = func(i, n int, d v1.Descriptor) {
					fmt.Fprintf(os.Stderr, "unpacking layer %d/%d %s (%s)\n", i+1, n, shortDigest(d.Digest.String()), image.HumanSize(d.Size))
				}
			}
			ctx, cancel := interruptible()
			defer cancel()
			if _, err := bundle.Create(ctx, img, args[1], o, u); err != nil {
				return fmt.Errorf("bundle %s from %s: %w", args[1], args[0], err)
			}
			if !quiet {
				fmt.Fprintf(os.Stderr, "bundle written to %s (rootfs/ and config.json)\n", args[1])
			}
			return nil
		},
	}
	addImageRootFlag(cmd, &root)
	f := cmd.Flags()
	f.StringVar(&entrypoint, "entrypoint", "", "replace the image's Entrypoint (and drop its Cmd); \"\" clears it")
	f.StringArrayVarP(&env, "env", "e", nil, "set an environment variable KEY=VALUE (repeatable)")
	f.StringVar(&hostname, "hostname", "", "the container's hostname (default \"hako\")")
	f.BoolVarP(&terminal, "terminal", "t", false, "give the process a terminal (process.terminal, TERM=xterm)")
	f.BoolVar(&readonly, "readonly", false, "make the root filesystem read-only")
	f.BoolVar(&rootless, "rootless", false, "write a configuration for a rootless container (user namespace mapping you to root)")
	f.BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors")
	return cmd
}
