package testutil

import "github.com/opencontainers/runtime-spec/specs-go"

// MkdirSeccompProfile is a seccomp profile that allows everything but
// mkdir and mkdirat, which fail with EPERM (errno 1). It also holds an
// unknown name, a rule equal to the default action, a rule whose
// argument index repeats and a masked comparison, so that compiling it
// goes through every path.
func MkdirSeccompProfile() *specs.LinuxSeccomp {
	one := uint(1)
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "hako_no_such_syscall", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &one},
			{Names: []string{"getpid"}, Action: specs.ActAllow}, // same as the default: dropped
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0, Op: specs.OpNotEqual},
				{Index: 0, Value: 8, Op: specs.OpNotEqual},
			}},
			{Names: []string{"clone"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0x7e020000, ValueTwo: 0, Op: specs.OpMaskedEqual},
			}},
		},
	}
}
