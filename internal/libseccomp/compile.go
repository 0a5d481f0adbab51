package libseccomp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Name is a system call name of the profile that libseccomp cannot resolve
// on this machine's architecture: its rule is skipped, as runc does, so
// that one profile serves several kernels and architectures.
type Name struct {
	Field string `json:"field"` // linux.seccomp.syscalls[I].names[J]
	Name  string `json:"name"`
	// Elsewhere: libseccomp knows the name on one of the profile's other
	// architectures (so the rule is meant for them, not misspelt).
	Elsewhere bool `json:"elsewhere,omitempty"`
}

// Unknown lists the names of s that libseccomp cannot resolve on this
// machine's architecture, in the profile's order. Empty names and unknown
// architectures are left to Compile's errors.
func Unknown(s *specs.LinuxSeccomp) []Name {
	if s == nil {
		return nil
	}
	var arches []libseccomp.ScmpArch
	for _, a := range s.Architectures {
		if name, ok := archNames[a]; ok {
			if arch, err := libseccomp.GetArchFromString(name); err == nil {
				arches = append(arches, arch)
			}
		}
	}
	var out []Name
	for i, sc := range s.Syscalls {
		for j, name := range sc.Names {
			if name == "" {
				continue
			}
			if _, err := libseccomp.GetSyscallFromName(name); err == nil {
				continue
			}
			n := Name{Field: fmt.Sprintf("linux.seccomp.syscalls[%d].names[%d]", i, j), Name: name}
			for _, a := range arches {
				if _, err := libseccomp.GetSyscallFromNameByArch(name, a); err == nil {
					n.Elsewhere = true
					break
				}
			}
			out = append(out, n)
		}
	}
	return out
}

// Compile turns the profile into a BPF program for this machine, in its
// byte order, as seccomp(SECCOMP_SET_MODE_FILTER) takes it. The profile's
// flags are not part of the program: the loader passes them.
func Compile(s *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	if s == nil {
		return nil, errors.New("linux.seccomp: no profile to compile")
	}
	filter, err := buildFilter(s)
	if err != nil {
		return nil, err
	}
	prog, err := exportBPF(filter)
	filter.Release()
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: compiling the filter: %w", err)
	}
	return prog, nil
}

// Version is the version of the linked libseccomp.
func Version() (major, minor, micro uint) { return libseccomp.GetLibraryVersion() }

func buildFilter(s *specs.LinuxSeccomp) (_ *libseccomp.ScmpFilter, retErr error) {
	if s.DefaultAction == "" {
		return nil, errors.New("linux.seccomp.defaultAction: missing: set it, e.g. to \"SCMP_ACT_ERRNO\" or \"SCMP_ACT_ALLOW\"")
	}
	def, err := seccompAction("linux.seccomp", "defaultAction", s.DefaultAction, s.DefaultErrnoRet, "defaultErrnoRet")
	if err != nil {
		return nil, err
	}
	filter, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: creating a filter with libseccomp: %w", err)
	}
	defer func() {
		if retErr != nil {
			filter.Release()
		}
	}()
	for i, a := range s.Architectures {
		field := fmt.Sprintf("linux.seccomp.architectures[%d]", i)
		arch, err := seccompArch(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		if present, _ := filter.IsArchPresent(arch); present {
			continue
		}
		if err := filter.AddArch(arch); err != nil {
			return nil, fmt.Errorf("%s: adding %s: %w", field, a, err)
		}
	}
	for i, sc := range s.Syscalls {
		if err := addSyscallRule(filter, def, fmt.Sprintf("linux.seccomp.syscalls[%d]", i), sc); err != nil {
			return nil, err
		}
	}
	return filter, nil
}

func addSyscallRule(filter *libseccomp.ScmpFilter, def libseccomp.ScmpAction, field string, sc specs.LinuxSyscall) error {
	if len(sc.Names) == 0 {
		return fmt.Errorf("%s.names: empty: a rule needs at least one syscall name", field)
	}
	act, err := seccompAction(field, "action", sc.Action, sc.ErrnoRet, "errnoRet")
	if err != nil {
		return err
	}
	conds, err := seccompConditions(field, sc.Args)
	if err != nil {
		return err
	}
	if act == def {
		// The kernel would do the same without the rule, and libseccomp
		// refuses a rule whose action is the default one.
		return nil
	}
	for j, name := range sc.Names {
		nfield := fmt.Sprintf("%s.names[%d]", field, j)
		if name == "" {
			return fmt.Errorf("%s: empty syscall name", nfield)
		}
		if act == libseccomp.ActNotify && name == "sendmsg" {
			return fmt.Errorf("%s: SCMP_ACT_NOTIFY on sendmsg would stop hako handing the listener to the agent (it is sent with sendmsg(2), under the filter) — hint: use another action for sendmsg", nfield)
		}
		call, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			continue // reported by Unknown
		}
		for _, group := range conds {
			if len(group) == 0 {
				err = filter.AddRule(call, act)
			} else {
				err = filter.AddRuleConditional(call, act, group)
			}
			if err != nil {
				return fmt.Errorf("%s: adding a rule for %q: %w", nfield, name, err)
			}
		}
	}
	return nil
}

var seccompActions = map[specs.LinuxSeccompAction]libseccomp.ScmpAction{
	specs.ActKill:        libseccomp.ActKillThread,
	specs.ActKillThread:  libseccomp.ActKillThread,
	specs.ActKillProcess: libseccomp.ActKillProcess,
	specs.ActTrap:        libseccomp.ActTrap,
	specs.ActErrno:       libseccomp.ActErrno,
	specs.ActTrace:       libseccomp.ActTrace,
	specs.ActAllow:       libseccomp.ActAllow,
	specs.ActLog:         libseccomp.ActLog,
	specs.ActNotify:      libseccomp.ActNotify,
}

// seccompAction converts an action name; errno is the errnoRet beside it.
func seccompAction(field, name string, a specs.LinuxSeccompAction, errno *uint, errnoName string) (libseccomp.ScmpAction, error) {
	if a == specs.ActNotify && name == "defaultAction" {
		return 0, fmt.Errorf("%s.%s: %s as the default would stop hako's own setup (it hands the listener to the agent with sendmsg(2), under the filter): notify the system calls the agent handles, one rule each", field, name, a)
	}
	act, ok := seccompActions[a]
	if !ok {
		return 0, fmt.Errorf("%s.%s: unknown seccomp action %q: expected one of SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG, SCMP_ACT_NOTIFY, SCMP_ACT_TRACE, SCMP_ACT_TRAP", field, name, a)
	}
	switch act {
	case libseccomp.ActErrno, libseccomp.ActTrace:
		code := uint(unix.EPERM)
		if errno != nil {
			code = *errno
		}
		if code > 0xffff {
			return 0, fmt.Errorf("%s.%s: %d does not fit the 16 bits seccomp returns", field, errnoName, code)
		}
		return act.SetReturnCode(int16(code)), nil
	}
	if errno != nil {
		return 0, fmt.Errorf("%s.%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno, not %s: remove it", field, errnoName, a)
	}
	return act, nil
}

var seccompOps = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// seccompConditions converts a rule's args into groups of conditions, each
// group one libseccomp rule. The conditions of one rule must all hold
// (AND). libseccomp cannot compare one argument twice in one rule, so when
// an argument index repeats, each condition becomes a rule of its own (OR),
// which is how runc and docker profiles read such lists.
func seccompConditions(field string, args []specs.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	var conds []libseccomp.ScmpCondition
	seen := map[uint]bool{}
	repeated := false
	for k, a := range args {
		afield := fmt.Sprintf("%s.args[%d]", field, k)
		if a.Index > 5 {
			return nil, fmt.Errorf("%s.index: %d is out of range: a syscall has at most 6 arguments (0 to 5)", afield, a.Index)
		}
		op, ok := seccompOps[a.Op]
		if !ok {
			return nil, fmt.Errorf("%s.op: unknown operator %q: expected one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ", afield, a.Op)
		}
		var c libseccomp.ScmpCondition
		var err error
		if op == libseccomp.CompareMaskedEqual {
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		} else {
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", afield, err)
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
		conds = append(conds, c)
	}
	if len(conds) == 0 {
		return [][]libseccomp.ScmpCondition{nil}, nil
	}
	if !repeated {
		return [][]libseccomp.ScmpCondition{conds}, nil
	}
	groups := make([][]libseccomp.ScmpCondition, len(conds))
	for i, c := range conds {
		groups[i] = []libseccomp.ScmpCondition{c}
	}
	return groups, nil
}

func seccompArch(a specs.Arch) (libseccomp.ScmpArch, error) {
	name, ok := archNames[a]
	if !ok {
		return 0, fmt.Errorf("unknown architecture %q: expected a name such as %q", a, specs.ArchX86_64)
	}
	arch, err := libseccomp.GetArchFromString(name)
	if err != nil {
		return 0, fmt.Errorf("architecture %q is not supported by this host's libseccomp: %w", a, err)
	}
	return arch, nil
}

var archNames = map[specs.Arch]string{
	specs.ArchX86: "x86", specs.ArchX86_64: "amd64", specs.ArchX32: "x32",
	specs.ArchARM: "arm", specs.ArchAARCH64: "arm64",
	specs.ArchMIPS: "mips", specs.ArchMIPS64: "mips64", specs.ArchMIPS64N32: "mips64n32",
	specs.ArchMIPSEL: "mipsel", specs.ArchMIPSEL64: "mipsel64", specs.ArchMIPSEL64N32: "mipsel64n32",
	specs.ArchPPC: "ppc", specs.ArchPPC64: "ppc64", specs.ArchPPC64LE: "ppc64le",
	specs.ArchS390: "s390", specs.ArchS390X: "s390x",
	specs.ArchPARISC: "parisc", specs.ArchPARISC64: "parisc64",
	specs.ArchRISCV64: "riscv64", specs.ArchLOONGARCH64: "loong64",
	specs.ArchM68K: "m68k", specs.ArchSH: "sh", specs.ArchSHEB: "sheb",
}

// exportBPF asks libseccomp for the filter's BPF program, through a memfd
// (libseccomp writes to a file descriptor).
func exportBPF(filter *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("hako-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "hako-seccomp")
	defer f.Close()
	if err := filter.ExportBPF(f); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	const insnSize = int(unsafe.Sizeof(unix.SockFilter{}))
	if len(raw) == 0 || len(raw)%insnSize != 0 || len(raw)/insnSize > 0xffff {
		return nil, fmt.Errorf("libseccomp produced a BPF program of %d bytes, not a whole number of instructions", len(raw))
	}
	// The program is in the host's byte order, as the kernel wants it.
	prog := make([]unix.SockFilter, len(raw)/insnSize)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(raw)), raw)
	return prog, nil
}
