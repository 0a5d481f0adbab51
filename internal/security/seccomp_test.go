package security

import (
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func uintp(v uint) *uint { return &v }

func mkdirProfile() *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "hako_no_such_syscall", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintp(1)},
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

func TestPrepareSeccompCompiles(t *testing.T) {
	load, err := PrepareSeccomp(mkdirProfile())
	if err != nil {
		t.Fatal(err)
	}
	if load == nil {
		t.Fatal("nil loader")
	}
	load, err = PrepareSeccomp(nil)
	if err != nil || load == nil || load() != nil {
		t.Fatalf("nil profile: loader nil=%v, err=%v", load == nil, err)
	}
}

func TestPrepareSeccompErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*specs.LinuxSeccomp)
		want   []string
	}{
		{"bad action", func(s *specs.LinuxSeccomp) { s.Syscalls[1].Action = "SCMP_ACT_EXPLODE" }, []string{"linux.seccomp.syscalls[1].action", `"SCMP_ACT_EXPLODE"`}},
		{"bad default", func(s *specs.LinuxSeccomp) { s.DefaultAction = "ALLOW" }, []string{"linux.seccomp.defaultAction", `"ALLOW"`}},
		{"missing default", func(s *specs.LinuxSeccomp) { s.DefaultAction = "" }, []string{"linux.seccomp.defaultAction: missing"}},
		{"bad arch", func(s *specs.LinuxSeccomp) { s.Architectures[2] = "SCMP_ARCH_Z80" }, []string{"linux.seccomp.architectures[2]", "SCMP_ARCH_Z80"}},
		{"bad op", func(s *specs.LinuxSeccomp) { s.Syscalls[3].Args[0].Op = "SCMP_CMP_SOMETIMES" }, []string{"linux.seccomp.syscalls[3].args[0].op"}},
		{"bad index", func(s *specs.LinuxSeccomp) { s.Syscalls[2].Args[1].Index = 6 }, []string{"linux.seccomp.syscalls[2].args[1].index", "0 to 5"}},
		{"bad flag", func(s *specs.LinuxSeccomp) {
			s.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FAST"}
		}, []string{"linux.seccomp.flags[1]"}},
		{"errnoRet on allow", func(s *specs.LinuxSeccomp) { s.Syscalls[1].ErrnoRet = uintp(1) }, []string{"linux.seccomp.syscalls[1].errnoRet"}},
		{"errno too big", func(s *specs.LinuxSeccomp) { s.Syscalls[0].ErrnoRet = uintp(1 << 20) }, []string{"linux.seccomp.syscalls[0].errnoRet"}},
		{"empty names", func(s *specs.LinuxSeccomp) { s.Syscalls[2].Names = nil }, []string{"linux.seccomp.syscalls[2].names"}},
		{"empty name", func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names[1] = "" }, []string{"linux.seccomp.syscalls[0].names[1]"}},
		{"notify", func(s *specs.LinuxSeccomp) { s.Syscalls[0].Action = specs.ActNotify }, []string{"linux.seccomp.syscalls[0].action", "not supported"}},
	} {
		s := mkdirProfile()
		tc.mutate(s)
		_, err := PrepareSeccomp(s)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.name, err, w)
			}
		}
	}
}

func TestSeccompConditionsRepeatedIndexBecomesOr(t *testing.T) {
	groups, err := seccompConditions("x", mkdirProfile().Syscalls[2].Args)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || len(groups[0]) != 1 || len(groups[1]) != 1 {
		t.Errorf("repeated index: got groups of %v, want two single conditions", groupLens(groups))
	}
	groups, err = seccompConditions("x", []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo}, {Index: 1, Op: specs.OpEqualTo}})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || len(groups[0]) != 2 {
		t.Errorf("distinct indexes: got groups of %v, want one group of two", groupLens(groups))
	}
}

func groupLens[T any](g [][]T) []int {
	var n []int
	for _, x := range g {
		n = append(n, len(x))
	}
	return n
}
