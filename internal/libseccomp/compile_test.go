package libseccomp

import (
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/testutil"
)

func uintp(v uint) *uint { return &v }

func mkdirProfile() *specs.LinuxSeccomp { return testutil.MkdirSeccompProfile() }

func TestCompile(t *testing.T) {
	prog, err := Compile(mkdirProfile())
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 4 {
		t.Fatalf("a program of %d instructions", len(prog))
	}
	// The program checks the architecture first: a load of
	// seccomp_data.arch (offset 4).
	if prog[0].Code != 0x20 || prog[0].K != 4 {
		t.Errorf("first instruction %+v, want a load of the architecture", prog[0])
	}
	if _, err := Compile(nil); err == nil {
		t.Error("nil profile: no error")
	}
}

func TestUnknown(t *testing.T) {
	s := mkdirProfile()
	// An empty name is Compile's error, not an unknown name; a name of
	// another architecture resolves (to a pseudo number) here too.
	s.Syscalls[0].Names = append(s.Syscalls[0].Names, "", "arm_fadvise64_64", "hako_nor_this")
	got := Unknown(s)
	want := []Name{
		{Field: "linux.seccomp.syscalls[0].names[1]", Name: "hako_no_such_syscall"},
		{Field: "linux.seccomp.syscalls[0].names[5]", Name: "hako_nor_this"},
	}
	if len(got) != len(want) {
		t.Fatalf("Unknown = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Unknown[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if Unknown(nil) != nil {
		t.Error("Unknown(nil) is not empty")
	}
}

func TestCompileErrors(t *testing.T) {
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
		{"errnoRet on allow", func(s *specs.LinuxSeccomp) { s.Syscalls[1].ErrnoRet = uintp(1) }, []string{"linux.seccomp.syscalls[1].errnoRet"}},
		{"errno too big", func(s *specs.LinuxSeccomp) { s.Syscalls[0].ErrnoRet = uintp(1 << 20) }, []string{"linux.seccomp.syscalls[0].errnoRet"}},
		{"empty names", func(s *specs.LinuxSeccomp) { s.Syscalls[2].Names = nil }, []string{"linux.seccomp.syscalls[2].names"}},
		{"empty name", func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names[1] = "" }, []string{"linux.seccomp.syscalls[0].names[1]"}},
		{"notify default", func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActNotify }, []string{"linux.seccomp.defaultAction", "sendmsg"}},
		{"notify sendmsg", func(s *specs.LinuxSeccomp) {
			s.Syscalls[0].Action, s.Syscalls[0].Names[0], s.Syscalls[0].Args, s.Syscalls[0].ErrnoRet = specs.ActNotify, "sendmsg", nil, nil
		}, []string{"linux.seccomp.syscalls[0].names[0]", "sendmsg"}},
	} {
		s := mkdirProfile()
		tc.mutate(s)
		_, err := Compile(s)
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
