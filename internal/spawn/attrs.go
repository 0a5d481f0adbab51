package spawn

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/sysprog"
)

// The attributes a process keeps across execve(2) that are neither
// credentials nor limits: the execution domain (linux.personality), the
// NUMA memory policy (linux.memoryPolicy), the scheduling policy
// (process.scheduler) and the I/O priority (process.ioPriority). Each is
// a property of the calling thread, inherited by the processes it forks,
// so the program sets them on itself: before the user changes, because a
// real-time policy or class needs CAP_SYS_NICE or CAP_SYS_ADMIN, and
// before any seccomp filter, which need not allow the calls.

// compileAttrs compiles the attributes of proc and of the container's
// linux (nil in tests). spawn: the process is forked from the program's
// runner after these ops (an exec): a SCHED_DEADLINE runner could not
// fork, and SCHED_FLAG_RESET_ON_FORK would be lost in the fork, so those
// two are the trampoline's (trampolineSched).
func compileAttrs(p *sysprog.Program, proc *specs.Process, l *specs.Linux, spawn bool) error {
	if err := refuseLSM(proc, l); err != nil {
		return err
	}
	if l != nil && l.Personality != nil {
		per, err := personality(l.Personality)
		if err != nil {
			return err
		}
		p.Call(func(errno syscall.Errno) error {
			return &Error{Step: "setting the personality", Err: fmt.Errorf("linux.personality.domain %q: personality(2): %w", l.Personality.Domain, errno)}
		}, unix.SYS_PERSONALITY, sysprog.Imm(per))
	}
	if l != nil && l.MemoryPolicy != nil {
		if err := compileMemoryPolicy(p, l.MemoryPolicy); err != nil {
			return err
		}
	}
	if s := proc.Scheduler; s != nil {
		attr, err := schedAttr(s)
		if err != nil {
			return err
		}
		fail := func(errno syscall.Errno) error {
			return &Error{Step: "setting the scheduler", Err: fmt.Errorf("process.scheduler (%s): sched_setattr(2): %w%s", s.Policy, errno, schedHint(s, errno))}
		}
		flags := binary.LittleEndian.Uint64(attr[8:])
		switch {
		case spawn && s.Policy == specs.SchedDeadline:
		case spawn && flags&unix.SCHED_FLAG_RESET_ON_FORK != 0:
			// The runner takes the policy without the flag; the
			// process adds it after its fork.
			binary.LittleEndian.PutUint64(attr[8:], flags&^unix.SCHED_FLAG_RESET_ON_FORK)
			p.Call(fail, unix.SYS_SCHED_SETATTR, sysprog.Imm(0), p.Bytes(attr), sysprog.Imm(0))
		default:
			p.Call(fail, unix.SYS_SCHED_SETATTR, sysprog.Imm(0), p.Bytes(attr), sysprog.Imm(0))
		}
	}
	if io := proc.IOPriority; io != nil {
		prio, err := ioPriority(io)
		if err != nil {
			return err
		}
		p.Call(func(errno syscall.Errno) error {
			hint := ""
			if errno == unix.EPERM {
				hint = " — hint: IOPRIO_CLASS_RT needs CAP_SYS_ADMIN in process.capabilities' effective set"
			}
			return &Error{Step: "setting the I/O priority", Err: fmt.Errorf("process.ioPriority (%s, %d): ioprio_set(2): %w%s", io.Class, io.Priority, errno, hint)}
		}, unix.SYS_IOPRIO_SET, sysprog.Imm(ioprioWhoProcess), sysprog.Imm(0), sysprog.Imm(prio))
	}
	return nil
}

// personality is the personality(2) persona of linux.personality.
func personality(pe *specs.LinuxPersonality) (uintptr, error) {
	if len(pe.Flags) > 0 {
		return 0, fmt.Errorf("linux.personality.flags: the runtime spec defines no personality flags, and hako applies none of %q — hint: delete the flags", pe.Flags)
	}
	switch pe.Domain {
	case specs.PerLinux:
		return 0x0000, nil // PER_LINUX
	case specs.PerLinux32:
		return 0x0008, nil // PER_LINUX32
	}
	return 0, fmt.Errorf("linux.personality.domain: unknown execution domain %q — hint: use LINUX or LINUX32", pe.Domain)
}

var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther: 0, specs.SchedFIFO: 1, specs.SchedRR: 2, specs.SchedBatch: 3,
	specs.SchedISO: 4, specs.SchedIdle: 5, specs.SchedDeadline: 6,
}

var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork:  unix.SCHED_FLAG_RESET_ON_FORK,
	specs.SchedFlagReclaim:      unix.SCHED_FLAG_RECLAIM,
	specs.SchedFlagDLOverrun:    unix.SCHED_FLAG_DL_OVERRUN,
	specs.SchedFlagKeepPolicy:   unix.SCHED_FLAG_KEEP_POLICY,
	specs.SchedFlagKeepParams:   unix.SCHED_FLAG_KEEP_PARAMS,
	specs.SchedFlagUtilClampMin: unix.SCHED_FLAG_UTIL_CLAMP_MIN,
	specs.SchedFlagUtilClampMax: unix.SCHED_FLAG_UTIL_CLAMP_MAX,
}

// schedAttr is process.scheduler as a struct sched_attr of
// SCHED_ATTR_SIZE_VER1 (56 bytes; the utilization clamps, which the spec
// does not carry, are 0, as runc sets them).
func schedAttr(s *specs.Scheduler) ([]byte, error) {
	policy, ok := schedPolicies[s.Policy]
	if !ok {
		return nil, fmt.Errorf("process.scheduler.policy: unknown policy %q", s.Policy)
	}
	var flags uint64
	for i, f := range s.Flags {
		v, ok := schedFlags[f]
		if !ok {
			return nil, fmt.Errorf("process.scheduler.flags[%d]: unknown flag %q", i, f)
		}
		flags |= v
	}
	le := binary.LittleEndian
	b := make([]byte, 0, 56)
	b = le.AppendUint32(b, 56) // size
	b = le.AppendUint32(b, policy)
	b = le.AppendUint64(b, flags)
	b = le.AppendUint32(b, uint32(s.Nice))
	b = le.AppendUint32(b, uint32(s.Priority))
	b = le.AppendUint64(b, s.Runtime)
	b = le.AppendUint64(b, s.Deadline)
	b = le.AppendUint64(b, s.Period)
	b = le.AppendUint32(b, 0) // sched_util_min
	b = le.AppendUint32(b, 0) // sched_util_max
	return b, nil
}

func schedHint(s *specs.Scheduler, errno syscall.Errno) string {
	switch {
	case errno == unix.EPERM && (s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR):
		return " — hint: real-time policies need CAP_SYS_NICE in process.capabilities' effective set, and on cgroup v1 with RT group scheduling a cpu.rt_runtime_us above 0 for the container's cgroup (linux.resources.cpu.realtimeRuntime)"
	case errno == unix.EPERM:
		return " — hint: this change needs CAP_SYS_NICE in process.capabilities' effective set"
	case errno == unix.EINVAL && s.Policy == specs.SchedISO:
		return " — hint: SCHED_ISO is not in the mainline kernel"
	case errno == unix.EBUSY && s.Policy == specs.SchedDeadline:
		return " — hint: the deadline bandwidth is taken (admission control); lower runtime/period"
	case errno == unix.EOPNOTSUPP:
		return " — hint: the kernel lacks utilization clamping (CONFIG_UCLAMP_TASK)"
	}
	return ""
}

const ioprioWhoProcess = 1 // IOPRIO_WHO_PROCESS

// ioPriority is process.ioPriority as an ioprio_set(2) value.
func ioPriority(io *specs.LinuxIOPriority) (int, error) {
	var class int
	switch io.Class {
	case specs.IOPRIO_CLASS_RT:
		class = 1
	case specs.IOPRIO_CLASS_BE:
		class = 2
	case specs.IOPRIO_CLASS_IDLE:
		class = 3
	default:
		return 0, fmt.Errorf("process.ioPriority.class: unknown class %q — hint: use IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE", io.Class)
	}
	if io.Priority < 0 || io.Priority > 7 {
		return 0, fmt.Errorf("process.ioPriority.priority: %d is out of range — hint: use 0 (highest) to 7 (lowest)", io.Priority)
	}
	return class<<13 | io.Priority, nil
}

// trampolineSched is the struct sched_attr the trampoline of a forked
// process (spawn) applies right before its execve, or nil: all of a
// SCHED_DEADLINE policy, or SCHED_FLAG_RESET_ON_FORK added to the policy
// the process inherited (adding the flag to the policy it has needs no
// privilege).
func trampolineSched(proc *specs.Process, spawn bool) []byte {
	s := proc.Scheduler
	if !spawn || s == nil {
		return nil
	}
	attr, err := schedAttr(s)
	if err != nil {
		return nil // compileAttrs reports it
	}
	if s.Policy == specs.SchedDeadline {
		return attr
	}
	if binary.LittleEndian.Uint64(attr[8:])&unix.SCHED_FLAG_RESET_ON_FORK == 0 {
		return nil
	}
	// The same policy (SCHED_FLAG_KEEP_POLICY would keep the flag as it
	// is too) with the parameters it has.
	binary.LittleEndian.PutUint64(attr[8:], unix.SCHED_FLAG_RESET_ON_FORK|unix.SCHED_FLAG_KEEP_PARAMS)
	return attr
}

var mpolModes = map[specs.MemoryPolicyModeType]uintptr{
	specs.MpolDefault: 0, specs.MpolPreferred: 1, specs.MpolBind: 2, specs.MpolInterleave: 3,
	specs.MpolLocal: 4, specs.MpolPreferredMany: 5, specs.MpolWeightedInterleave: 6,
}

var mpolFlags = map[specs.MemoryPolicyFlagType]uintptr{
	specs.MpolFStaticNodes:   1 << 15,
	specs.MpolFRelativeNodes: 1 << 14,
	specs.MpolFNumaBalancing: 1 << 13,
}

// compileMemoryPolicy compiles set_mempolicy(2) of linux.memoryPolicy.
func compileMemoryPolicy(p *sysprog.Program, m *specs.LinuxMemoryPolicy) error {
	mode, ok := mpolModes[m.Mode]
	if !ok {
		return fmt.Errorf("linux.memoryPolicy.mode: unknown mode %q", m.Mode)
	}
	for i, f := range m.Flags {
		v, ok := mpolFlags[f]
		if !ok {
			return fmt.Errorf("linux.memoryPolicy.flags[%d]: unknown flag %q", i, f)
		}
		mode |= v
	}
	mask, err := nodeMask(m.Nodes)
	if err != nil {
		return fmt.Errorf("linux.memoryPolicy.nodes %q: %w", m.Nodes, err)
	}
	fail := func(errno syscall.Errno) error {
		hint := ""
		switch errno {
		case unix.ENOSYS:
			hint = " — hint: the kernel has no NUMA support (CONFIG_NUMA); delete linux.memoryPolicy"
		case unix.EINVAL:
			hint = " — hint: are the nodes online (/sys/devices/system/node/online) and the flags valid for the mode?"
		}
		return &Error{Step: "setting the memory policy", Err: fmt.Errorf("linux.memoryPolicy (%s, nodes %q): set_mempolicy(2): %w%s", m.Mode, m.Nodes, errno, hint)}
	}
	if len(mask) == 0 {
		p.Call(fail, unix.SYS_SET_MEMPOLICY, sysprog.Imm(mode), sysprog.Imm(0), sysprog.Imm(0))
		return nil
	}
	b := make([]byte, 0, 8*len(mask))
	for _, w := range mask {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	// maxnode counts one more than the bits the kernel reads.
	p.Call(fail, unix.SYS_SET_MEMPOLICY, sysprog.Imm(mode), p.Bytes(b), sysprog.Imm(64*len(mask)+1))
	return nil
}

// maxNodes bounds the node numbers of a memory policy (the kernel's
// MAX_NUMNODES is at most 1024).
const maxNodes = 1024

// nodeMask parses a node list ("0-3,7") into 64-bit words.
func nodeMask(list string) ([]uint64, error) {
	list = strings.TrimSpace(list)
	if list == "" {
		return nil, nil
	}
	var mask []uint64
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("%q is not a node number", lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, fmt.Errorf("%q is not a node number", hi)
			}
		}
		if a < 0 || b < a || b >= maxNodes {
			return nil, fmt.Errorf("%q is not a range of nodes 0..%d", part, maxNodes-1)
		}
		for n := a; n <= b; n++ {
			for len(mask) <= n/64 {
				mask = append(mask, 0)
			}
			mask[n/64] |= 1 << (n % 64)
		}
	}
	return mask, nil
}

// refuseLSM handles the Linux security module fields, which hako does not
// apply: where the host has the module, a container meant to be confined
// by it is refused rather than run unconfined; where the host lacks it
// nothing could confine the process, and the field is ignored with a
// warning (docker and podman send none there; crun ignores it too).
func refuseLSM(proc *specs.Process, l *specs.Linux) error {
	apparmor := false
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.TrimSpace(string(b)) == "Y" {
		apparmor = true
	}
	_, err := os.Stat("/sys/fs/selinux/enforce")
	selinux := err == nil
	check := func(field, value string, present bool, module, hint string) error {
		switch {
		case value == "":
			return nil
		case present:
			return fmt.Errorf("%s %q: this host has %s, and hako does not apply %s confinement; it will not run the process unconfined — hint: %s", field, value, module, module, hint)
		}
		slog.Warn(fmt.Sprintf("%s %q ignored: this host has no %s to confine the process with", field, value, module))
		return nil
	}
	if err := check("process.apparmorProfile", proc.ApparmorProfile, apparmor, "AppArmor", "delete it (docker: --security-opt apparmor=unconfined), or use runc"); err != nil {
		return err
	}
	if err := check("process.selinuxLabel", proc.SelinuxLabel, selinux, "SELinux", "delete it (podman: --security-opt label=disable), or use runc"); err != nil {
		return err
	}
	if l != nil {
		return check("linux.mountLabel", l.MountLabel, selinux, "SELinux", "delete it (podman: --security-opt label=disable), or use runc")
	}
	return nil
}
