package main

import (
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/testutil"
)

// benchProfile is a profile the size of a container engine's default one:
// every system call of the host's table but the denied ones is allowed
// (one rule of some 300 names), personality only with the personas
// programs use (four rules with a condition each), anything else fails with
// EPERM.
func benchProfile() (*specs.LinuxSeccomp, error) {
	allowed, err := testutil.HostSyscalls(append([]string{"personality"}, testutil.EngineDenied...)...)
	if err != nil {
		return nil, err
	}
	eperm := uint(1)
	p := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &eperm,
		Architectures:   []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:        []specs.LinuxSyscall{{Names: allowed, Action: specs.ActAllow}},
	}
	for _, persona := range []uint64{0, 8, 0x20000, 0xffffffff} {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: persona, Op: specs.OpEqualTo}}})
	}
	return p, nil
}
