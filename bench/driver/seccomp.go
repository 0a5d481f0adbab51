package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// unistd is where the host's system call names are (linux-libc-dev, which
// gcc depends on).
const unistd = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"

// denied are the system calls the bench profile refuses, the kind a
// container runtime's default profile refuses: kernel modules and kexec,
// mounts and namespaces, clocks, keyrings, tracing other processes,
// swap, reboot, BPF and perf.
var denied = []string{
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
	"finit_module", "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp",
	"kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "move_mount",
	"move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "fsopen",
	"fsmount", "fsconfig", "fspick", "perf_event_open", "pivot_root", "process_vm_readv",
	"process_vm_writev", "ptrace", "query_module", "quotactl", "reboot", "request_key",
	"set_mempolicy", "setns", "settimeofday", "swapoff", "swapon", "_sysctl", "sysfs", "umount2",
	"unshare", "uselib", "userfaultfd", "ustat", "vhangup",
}

// benchProfile is a profile the size of a container engine's default one:
// every system call of the host's table but the denied ones is allowed
// (one rule of some 300 names), personality only with the personas
// programs use (four rules with a condition each), anything else fails with
// EPERM.
func benchProfile() (*specs.LinuxSeccomp, error) {
	f, err := os.Open(unistd)
	if err != nil {
		return nil, fmt.Errorf("%w — hint: apt-get install linux-libc-dev", err)
	}
	defer f.Close()
	var allowed []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "#define" && strings.HasPrefix(fields[1], "__NR_") {
			name := strings.TrimPrefix(fields[1], "__NR_")
			if name != "personality" && !slices.Contains(denied, name) {
				allowed = append(allowed, name)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(allowed) < 200 {
		return nil, fmt.Errorf("%s lists only %d system calls", unistd, len(allowed))
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
