package validate

import (
	"runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var (
	seccompActions = []string{"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"}
	seccompArches  = []string{"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB"}
	seccompFlags   = []string{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}
	seccompOps     = []string{"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}
)

const sc = "linux.seccomp"

// archAliases maps other names of an architecture to libseccomp's.
var archAliases = map[string]string{"AMD64": "X86_64", "X64": "X86_64", "I386": "X86", "I686": "X86", "ARM64": "AARCH64", "RISCV": "RISCV64", "PPC64EL": "PPC64LE"}

func takesErrno(a specs.LinuxSeccompAction) bool {
	return a == specs.ActErrno || a == specs.ActTrace
}

func (c *checker) checkSeccomp(s *specs.LinuxSeccomp) {
	if s == nil {
		return
	}
	c.checkAction(sc+".defaultAction", s.DefaultAction)
	if s.DefaultErrnoRet != nil && !takesErrno(s.DefaultAction) && contains(seccompActions, string(s.DefaultAction)) {
		c.errorf(sc+".defaultErrnoRet", ruleSeccomp, "delete defaultErrnoRet, or use SCMP_ACT_ERRNO", "%s takes no errno", s.DefaultAction)
	}
	for i, a := range s.Architectures {
		if !contains(seccompArches, string(a)) {
			hint := hintOneOf(string(a), seccompArches)
			if al, ok := archAliases[strings.TrimPrefix(string(a), "SCMP_ARCH_")]; ok {
				hint = "write \"SCMP_ARCH_" + al + "\""
			}
			c.errorf(indexPath(sc+".architectures", i), ruleSeccomp, hint, "unknown architecture %q", a)
		}
	}
	for i, f := range s.Flags {
		if !contains(seccompFlags, string(f)) {
			c.errorf(indexPath(sc+".flags", i), ruleSeccomp, hintOneOf(string(f), seccompFlags), "unknown seccomp flag %q", f)
		}
	}
	if s.ListenerMetadata != "" && s.ListenerPath == "" {
		c.errorf(sc+".listenerMetadata", ruleSeccomp, "set listenerPath, or delete listenerMetadata", "listenerMetadata MUST NOT be set without listenerPath")
	}
	notify := s.DefaultAction == specs.ActNotify
	for i, sys := range s.Syscalls {
		p := indexPath(sc+".syscalls", i)
		if len(sys.Names) == 0 {
			c.errorf(p+".names", ruleSeccomp, `list at least one system call, e.g. ["mount"]`, "names MUST contain at least one entry")
		}
		for j, name := range sys.Names {
			if name == "" {
				c.errorf(indexPath(p+".names", j), ruleSeccomp, "write the system call's name", "empty system call name")
			}
		}
		c.checkAction(p+".action", sys.Action)
		if sys.ErrnoRet != nil && !takesErrno(sys.Action) && contains(seccompActions, string(sys.Action)) {
			c.errorf(p+".errnoRet", ruleSeccomp, "delete errnoRet, or use SCMP_ACT_ERRNO", "%s takes no errno", sys.Action)
		}
		notify = notify || sys.Action == specs.ActNotify
		for j, a := range sys.Args {
			ap := indexPath(p+".args", j)
			if a.Index > 5 {
				c.errorf(ap+".index", ruleSeccomp, "system calls have arguments 0..5", "argument index %d is out of range", a.Index)
			}
			if !contains(seccompOps, string(a.Op)) {
				c.errorf(ap+".op", ruleSeccomp, hintOneOf(string(a.Op), seccompOps), "unknown operator %q", a.Op)
			}
		}
	}
	c.checkSyscallNames(s)
	if notify && s.ListenerPath == "" {
		c.errorf(sc+".listenerPath", ruleSeccomp, "set listenerPath to the seccomp agent's socket", "SCMP_ACT_NOTIFY needs a listenerPath to send the notification fd to")
	}
	if s.ListenerPath != "" && !isAbs(s.ListenerPath) {
		c.errorf(sc+".listenerPath", ruleSeccomp, "write the absolute path of the agent's socket", "listenerPath %q is not absolute", s.ListenerPath)
	}
}

func (c *checker) checkAction(p string, a specs.LinuxSeccompAction) {
	if !contains(seccompActions, string(a)) {
		hint := hintOneOf(string(a), seccompActions)
		if up := "SCMP_ACT_" + strings.ToUpper(string(a)); contains(seccompActions, up) {
			hint = "write \"" + up + "\""
		}
		c.errorf(p, ruleSeccomp, hint, "unknown seccomp action %q", a)
	}
}

// checkSyscallNames warns about the names libseccomp knows neither on this
// machine's architecture nor on any listed one: runtimes skip such names,
// so the rule silently does not apply.
func (c *checker) checkSyscallNames(s *specs.LinuxSeccomp) {
	if s == nil || c.opts.UnknownSyscalls == nil {
		return
	}
	unknown, err := c.opts.UnknownSyscalls(s)
	if err != nil {
		return // no libseccomp to compare with
	}
	for _, n := range unknown {
		if !n.Elsewhere {
			c.warnf(n.Field, ruleSeccomp, "check the spelling (see syscalls(2)); runtimes skip names they cannot resolve",
				"libseccomp does not know the system call %q on %s", n.Name, runtime.GOARCH)
		}
	}
}
