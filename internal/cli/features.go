package cli

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/mount"
	"github.com/hako-dev/hako/internal/security"
	"github.com/hako-dev/hako/internal/spec"
)

func init() { register(newFeaturesCmd) }

func newFeaturesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "features",
		Short: "show the enabled features (OCI runtime features JSON)",
		Args:  cobraNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			yes, no := true, false
			f := features.Features{
				OCIVersionMin: "1.0.0",
				OCIVersionMax: specs.Version,
				Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
				MountOptions:  mount.Options(),
				Linux: &features.Linux{
					Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"},
					Capabilities: security.CapabilityNames(),
					Cgroup:       &features.Cgroup{V1: &yes, V2: &yes, Systemd: &yes, SystemdUser: &no, Rdma: &yes},
					Seccomp: &features.Seccomp{
						Enabled: &yes,
						Actions: []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
							"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"},
						Operators: []string{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
							"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"},
						Archs: []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"},
					},
					Apparmor: &features.Apparmor{Enabled: &no},
					Selinux:  &features.Selinux{Enabled: &no},
					// Refused with a reason: hako manages no resctrl groups.
					IntelRdt: &features.IntelRdt{Enabled: &no},
					MemoryPolicy: &features.MemoryPolicy{
						Modes: []string{"MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_LOCAL", "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"},
						Flags: []string{"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"},
					},
					MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: ptr(idmapSupported())}},
					NetDevices:      &features.NetDevices{Enabled: &yes},
				},
				Annotations: map[string]string{"org.opencontainers.runtime-spec.features.version": specs.Version,
					"io.github.hako.spec.default-ociVersion": spec.OCIVersion},
			}
			b, err := json.MarshalIndent(f, "", "    ")
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(append(b, '\n'))
			return err
		},
	}
}

var cobraNoArgs = cobra.NoArgs

func ptr[T any](v T) *T { return &v }

// idmapSupported reports whether the kernel has mount_setattr(2) (Linux
// 5.12), which idmapped mounts need: a call with no valid fd fails with
// EBADF there and ENOSYS before.
func idmapSupported() bool {
	err := unix.MountSetattr(-1, "", unix.AT_EMPTY_PATH, &unix.MountAttr{})
	return err != unix.ENOSYS
}
