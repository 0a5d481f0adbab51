package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

func init() { register(newUpdateCmd) }

func newUpdateCmd() *cobra.Command {
	var resFile string
	cmd := &cobra.Command{
		Use:   "update [flags] <container-id>",
		Short: "update the cgroup resource limits of a running container",
		Long: `Changes resource limits of a running container, from flags or from a
linux.resources JSON document given with -r FILE ("-" reads stdin), as
containerd passes it. Memory values accept k, m, g suffixes.`,
		Args: exactID,
		RunE: func(cmd *cobra.Command, args []string) error {
			res := &specs.LinuxResources{}
			if resFile != "" {
				var r io.Reader = os.Stdin
				if resFile != "-" {
					f, err := os.Open(resFile)
					if err != nil {
						return fmt.Errorf("-r %s: %w", resFile, err)
					}
					defer f.Close()
					r = f
				}
				if err := json.NewDecoder(r).Decode(res); err != nil {
					return fmt.Errorf("-r %s: not a linux.resources JSON document: %w", resFile, err)
				}
			}
			if err := updateFromFlags(cmd, res); err != nil {
				return err
			}
			rt, err := openRuntime()
			if err != nil {
				return err
			}
			return rt.Update(args[0], res)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&resFile, "resources", "r", "", "path to a file containing the resources to update, or \"-\" to read from stdin")
	for _, n := range []string{"memory", "memory-reservation", "memory-swap", "kernel-memory", "kernel-memory-tcp"} {
		f.String(n, "", "memory value (bytes, or with a k, m, g suffix; -1 for unlimited)")
	}
	for _, n := range []string{"cpu-period", "cpu-quota", "cpu-burst", "cpu-rt-period", "cpu-rt-runtime", "cpu-share", "cpu-idle", "blkio-weight", "pids-limit"} {
		f.String(n, "", "numeric value")
	}
	f.String("cpuset-cpus", "", "CPU(s) to use")
	f.String("cpuset-mems", "", "memory node(s) to use")
	return cmd
}

func updateFromFlags(cmd *cobra.Command, res *specs.LinuxResources) error {
	f := cmd.Flags()
	get := func(name string) (string, bool) {
		if !f.Changed(name) {
			return "", false
		}
		v, _ := f.GetString(name)
		return v, true
	}
	mem := func(name string, dst **int64) error {
		v, ok := get(name)
		if !ok {
			return nil
		}
		n, err := parseBytes(v)
		if err != nil {
			return fmt.Errorf("--%s %q: %v", name, v, err)
		}
		*dst = &n
		return nil
	}
	if res.Memory == nil {
		res.Memory = &specs.LinuxMemory{}
	}
	if res.CPU == nil {
		res.CPU = &specs.LinuxCPU{}
	}
	for name, dst := range map[string]**int64{"memory": &res.Memory.Limit, "memory-reservation": &res.Memory.Reservation, "memory-swap": &res.Memory.Swap} {
		if err := mem(name, dst); err != nil {
			return err
		}
	}
	for _, name := range []string{"kernel-memory", "kernel-memory-tcp"} {
		if _, ok := get(name); ok {
			return fmt.Errorf("--%s: kernel memory limits are not supported (the kernel dropped them in 5.x)", name)
		}
	}
	num := func(name string, bits int, signed bool) (*uint64, *int64, error) {
		v, ok := get(name)
		if !ok {
			return nil, nil, nil
		}
		if signed {
			n, err := strconv.ParseInt(v, 10, bits)
			if err != nil {
				return nil, nil, fmt.Errorf("--%s %q: not a number", name, v)
			}
			return nil, &n, nil
		}
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return nil, nil, fmt.Errorf("--%s %q: not a non-negative number", name, v)
		}
		return &n, nil, nil
	}
	var err error
	if res.CPU.Period, _, err = pick(num("cpu-period", 64, false)); err != nil {
		return err
	}
	if _, res.CPU.Quota, err = pick(num("cpu-quota", 64, true)); err != nil {
		return err
	}
	if res.CPU.RealtimePeriod, _, err = pick(num("cpu-rt-period", 64, false)); err != nil {
		return err
	}
	if _, res.CPU.RealtimeRuntime, err = pick(num("cpu-rt-runtime", 64, true)); err != nil {
		return err
	}
	if res.CPU.Shares, _, err = pick(num("cpu-share", 64, false)); err != nil {
		return err
	}
	if res.CPU.Burst, _, err = pick(num("cpu-burst", 64, false)); err != nil {
		return err
	}
	if _, res.CPU.Idle, err = pick(num("cpu-idle", 64, true)); err != nil {
		return err
	}
	if v, ok := get("cpuset-cpus"); ok {
		res.CPU.Cpus = v
	}
	if v, ok := get("cpuset-mems"); ok {
		res.CPU.Mems = v
	}
	if w, _, err := pick(num("blkio-weight", 16, false)); err != nil {
		return err
	} else if w != nil {
		v := uint16(*w)
		res.BlockIO = &specs.LinuxBlockIO{Weight: &v}
	}
	if _, p, err := pick(num("pids-limit", 64, true)); err != nil {
		return err
	} else if p != nil {
		res.Pids = &specs.LinuxPids{Limit: p}
	}
	return nil
}

func pick(u *uint64, i *int64, err error) (*uint64, *int64, error) { return u, i, err }

// parseBytes reads "512m", "1g", "1048576" or "-1".
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	mult := int64(1)
	t := strings.ToLower(strings.TrimSuffix(strings.ToLower(s), "b"))
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1<<10, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, t = 1<<20, strings.TrimSuffix(t, "m")
	case strings.HasSuffix(t, "g"):
		mult, t = 1<<30, strings.TrimSuffix(t, "g")
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expected bytes like 512m, 1g or 1048576")
	}
	return n * mult, nil
}
