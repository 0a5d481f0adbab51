package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/validate"
)

func init() {
	register(newValidateCmd)
	// create and run refuse a bundle with the same messages `hako
	// validate` prints; warnings go to the log.
	validateBundle = func(bundle string) (*specs.Spec, []byte, error) {
		r, err := validate.Bundle(bundle)
		if err != nil {
			return nil, nil, err
		}
		for _, w := range r.Warnings() {
			slog.Warn(w.String())
		}
		if err := r.Err(); err != nil {
			return nil, nil, err
		}
		return r.Spec, r.Config, nil
	}
}

func newValidateCmd() *cobra.Command {
	var bundle, format string
	cmd := &cobra.Command{
		Use:   "validate [--bundle DIR | FILE]",
		Short: "check a bundle's config.json against the runtime spec and its root filesystem",
		Long: `Checks a configuration before anything runs and prints every problem at once,
each as FILE:LINE:COL: FIELD: problem — hint: fix [spec rule]:

  JSON syntax and types, unknown fields (warnings, with "did you mean"), every
  rule of the OCI runtime spec that can be checked statically, and, against
  the bundle: process.args[0] resolved through process.env's PATH inside the
  rootfs, cwd, the user name, bind mount sources, namespace files and hooks.

With FILE, its directory is taken as the bundle. Columns count characters,
a tab counting as one. Exit status: 0 when valid (warnings allowed), 1 when
there are errors.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: must be text or json", format)
			}
			var r *validate.Report
			var err error
			o := validate.Options{UnknownSyscalls: unknownSyscalls}
			switch {
			case len(args) == 1 && cmd.Flags().Changed("bundle"):
				return fmt.Errorf("give either --bundle DIR or FILE, not both")
			case len(args) == 1:
				r, err = o.File(args[0], filepath.Dir(args[0]))
			default:
				r, err = o.Bundle(bundle)
			}
			if err != nil {
				return err
			}
			if err := printReport(cmd.OutOrStdout(), r, format); err != nil {
				return err
			}
			if !r.OK() {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "path to the root of the bundle directory")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// unknownSyscalls asks the libseccomp helper which names of a profile it
// cannot resolve, for `hako validate`'s warnings; without the helper there
// is nothing to compare with and no warning.
func unknownSyscalls(s *specs.LinuxSeccomp) ([]validate.SyscallName, error) {
	var c seccomp.Compiler
	names, err := c.Unknown(s)
	if err != nil {
		slog.Debug("not checking the seccomp profile's system call names", "error", err)
		return nil, err
	}
	out := make([]validate.SyscallName, len(names))
	for i, n := range names {
		out[i] = validate.SyscallName{Field: n.Field, Name: n.Name, Elsewhere: n.Elsewhere}
	}
	return out, nil
}

// validateOutput is the --format json document.
type validateOutput struct {
	File     string                `json:"file"`
	Valid    bool                  `json:"valid"`
	Errors   int                   `json:"errors"`
	Warnings int                   `json:"warnings"`
	Problems []validate.FieldError `json:"problems"`
}

func printReport(w io.Writer, r *validate.Report, format string) error {
	if format == "json" {
		out := validateOutput{File: r.File, Valid: r.OK(), Errors: len(r.Errors()), Warnings: len(r.Warnings()), Problems: r.Problems}
		if out.Problems == nil {
			out.Problems = []validate.FieldError{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	for _, p := range r.Problems {
		if _, err := fmt.Fprintln(w, p.String()); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, r.Summary())
	return err
}
