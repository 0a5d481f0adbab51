package testutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

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

// unistd is where the host's system call names are (linux-libc-dev).
const unistd = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"

// EngineDenied are the system calls a container engine's default profile
// refuses (the tests' and bench/driver's profiles refuse them): kernel
// modules and kexec, mounts and namespaces, clocks, keyrings, tracing,
// swap, reboot, BPF, perf.
var EngineDenied = []string{
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
	"finit_module", "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp",
	"kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "move_mount",
	"move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "fsopen",
	"fsmount", "fsconfig", "fspick", "perf_event_open", "pivot_root", "process_vm_readv",
	"process_vm_writev", "ptrace", "query_module", "quotactl", "reboot", "request_key",
	"set_mempolicy", "setns", "settimeofday", "swapoff", "swapon", "_sysctl", "sysfs", "umount2",
	"unshare", "uselib", "userfaultfd", "ustat", "vhangup",
}

// EngineSeccompProfile is a profile of the size and shape of a container
// engine's default one: one rule allowing every system call of the host's
// table (some 300 names) but the engine's denied ones and mkdir and
// mkdirat, which fail with ENOSPC (a distinct errno, to tell the filter
// from a missing capability); anything else fails with EPERM. It skips t
// where the table (amd64's, from linux-libc-dev) is missing.
func EngineSeccompProfile(t testing.TB) *specs.LinuxSeccomp {
	t.Helper()
	allowed, err := HostSyscalls(append([]string{"mkdir", "mkdirat"}, EngineDenied...)...)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("the host's system call table: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	eperm, enospc := uint(unix.EPERM), uint(unix.ENOSPC)
	return &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &eperm,
		Architectures:   []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: allowed, Action: specs.ActAllow},
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &enospc},
		},
	}
}

// HostSyscalls lists the names of the host's system call table (amd64's,
// from linux-libc-dev's headers), in its order, but those in except.
func HostSyscalls(except ...string) ([]string, error) {
	b, err := os.ReadFile(unistd)
	if err != nil {
		return nil, fmt.Errorf("%w — hint: apt-get install linux-libc-dev", err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "#define" && strings.HasPrefix(f[1], "__NR_") {
			if name := strings.TrimPrefix(f[1], "__NR_"); !slices.Contains(except, name) {
				out = append(out, name)
			}
		}
	}
	if len(out) < 200 {
		return nil, fmt.Errorf("%s lists only %d system calls", unistd, len(out))
	}
	return out, nil
}
