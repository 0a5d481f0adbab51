package security

import (
	"encoding/binary"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/sysprog"
)

func dump(ops []sysprog.OpInfo) string {
	var b strings.Builder
	for _, o := range ops {
		b.WriteString("\n  " + o.String())
	}
	return b.String()
}

// prctl is the op's prctl option and first argument, or -1s for another
// op.
func prctl(o sysprog.OpInfo) (int, int) {
	if o.Name != "prctl" {
		return -1, -1
	}
	return int(o.Args[0].Val), int(o.Args[1].Val)
}

// TestCompileUserOrder: the one order that works, as ops: keep the
// permitted set across the uid change, drop the bounding set, groups,
// then gid before uid (a uid change first would lose the right to change
// the gid), the capability sets, stop keeping, the ambient set, the
// umask.
func TestCompileUserOrder(t *testing.T) {
	umask := uint32(0o027)
	u := specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20}, Umask: &umask}
	caps := &specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_BPF"},
		Effective:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_BPF"},
		Inheritable: []string{"CAP_NET_BIND_SERVICE", "CAP_BPF"},
		Ambient:     []string{"CAP_NET_BIND_SERVICE", "CAP_BPF"},
	}
	last, err := capability.LastCap()
	if err != nil {
		t.Fatal(err)
	}
	cur, err := threadCaps(last)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []capability.Cap{capability.CAP_KILL, capability.CAP_NET_BIND_SERVICE, capability.CAP_BPF} {
		if !cur.permitted.has(c) || c > last {
			t.Skipf("this process lacks %s", capName(c))
		}
	}
	p := sysprog.New(9)
	if err := CompileUser(p, u, caps); err != nil {
		t.Fatal(err)
	}
	ops := p.Ops()
	var seq []string
	var dropped []int
	var raised []int
	for _, o := range ops {
		opt, arg := prctl(o)
		switch {
		case opt == unix.PR_SET_KEEPCAPS:
			seq = append(seq, "keepcaps="+string(rune('0'+arg)))
		case opt == unix.PR_CAPBSET_DROP:
			if !slices.Contains(seq, "drop") {
				seq = append(seq, "drop")
			}
			dropped = append(dropped, arg)
			if !slices.Equal(o.Tolerated, []syscall.Errno{unix.EINVAL}) {
				t.Errorf("%s: a capability the kernel does not know must be tolerated", o)
			}
		case opt == unix.PR_CAP_AMBIENT && arg == unix.PR_CAP_AMBIENT_CLEAR_ALL:
			seq = append(seq, "ambient-clear")
		case opt == unix.PR_CAP_AMBIENT && arg == unix.PR_CAP_AMBIENT_RAISE:
			if !slices.Contains(seq, "ambient-raise") {
				seq = append(seq, "ambient-raise")
			}
			raised = append(raised, int(o.Args[2].Val))
		case o.Name == "setgroups":
			if n := int(o.Args[0].Val); n != 2 || binary.NativeEndian.Uint32(o.Args[1].Mem) != 10 || binary.NativeEndian.Uint32(o.Args[1].Mem[4:]) != 20 {
				t.Errorf("%s: want groups 10, 20", o)
			}
			seq = append(seq, o.Name)
		case o.Name == "setresgid" || o.Name == "setresuid":
			want := map[string]uintptr{"setresgid": 1001, "setresuid": 1000}[o.Name]
			for i := 0; i < 3; i++ {
				if o.Args[i].Kind != 'i' || o.Args[i].Val != want {
					t.Errorf("%s: want all three ids %d", o, want)
				}
			}
			seq = append(seq, o.Name)
		case o.Name == "capset":
			d := o.Args[1].Mem
			w := func(i int) uint64 { return uint64(binary.NativeEndian.Uint32(d[4*i:])) }
			eff, perm, inh := w(0)|w(3)<<32, w(1)|w(4)<<32, w(2)|w(5)<<32
			if eff != 1<<5|1<<10 || perm != 1<<5|1<<10|1<<39 || inh != 1<<10|1<<39 {
				t.Errorf("capset eff %#x perm %#x inh %#x", eff, perm, inh)
			}
			if binary.NativeEndian.Uint32(o.Args[0].Mem) != unix.LINUX_CAPABILITY_VERSION_3 {
				t.Errorf("%s: not a version 3 header", o)
			}
			seq = append(seq, o.Name)
		case o.Name == "umask":
			if o.Args[0].Val != 0o027 {
				t.Errorf("%s", o)
			}
			seq = append(seq, o.Name)
		default:
			t.Errorf("unexpected op %s", o)
		}
	}
	want := []string{"keepcaps=1", "drop", "setgroups", "setresgid", "setresuid", "capset", "keepcaps=0", "ambient-clear", "ambient-raise", "umask"}
	if !slices.Equal(seq, want) {
		t.Errorf("order %q, want %q:%s", seq, want, dump(ops))
	}
	var wantDrops []int
	for c := capability.Cap(0); c <= last; c++ {
		if cur.bounding.has(c) && !slices.Contains([]capability.Cap{capability.CAP_CHOWN, capability.CAP_KILL, capability.CAP_NET_BIND_SERVICE, capability.CAP_BPF}, c) {
			wantDrops = append(wantDrops, int(c))
		}
	}
	if !slices.Equal(dropped, wantDrops) {
		t.Errorf("dropped %v from the bounding set, want %v", dropped, wantDrops)
	}
	if !slices.Equal(raised, []int{10, 39}) {
		t.Errorf("raised %v into the ambient set, want [10 39]", raised)
	}
}

// Without additional gids the groups are cleared, tolerating EPERM (a user
// namespace that denies setgroups), and no ambient capability means the
// clearing of the ambient set may fail on a kernel without it.
func TestCompileUserNoGroups(t *testing.T) {
	p := sysprog.New(9)
	if err := CompileUser(p, specs.User{}, nil); err != nil {
		t.Fatal(err)
	}
	ops := p.Ops()
	i := slices.IndexFunc(ops, func(o sysprog.OpInfo) bool { return o.Name == "setgroups" })
	if i < 0 || ops[i].Args[0].Val != 0 || !slices.Equal(ops[i].Tolerated, []syscall.Errno{unix.EPERM}) {
		t.Errorf("setgroups:%s", dump(ops))
	}
	for _, o := range ops {
		if opt, arg := prctl(o); opt == unix.PR_CAP_AMBIENT && arg == unix.PR_CAP_AMBIENT_CLEAR_ALL && !slices.Equal(o.Tolerated, []syscall.Errno{unix.EINVAL}) {
			t.Errorf("%s: want EINVAL tolerated", o)
		}
		if o.Name == "umask" {
			t.Errorf("%s without process.user.umask", o)
		}
	}
}

// CompileRlimits: one prlimit64 of this process per entry, in order, with
// the entry's limits; its failure names the entry.
func TestCompileRlimits(t *testing.T) {
	p := sysprog.New(9)
	rl := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 64, Hard: 128}, {Type: "RLIMIT_CORE", Soft: 0, Hard: 0}, {Type: "RLIMIT_NOFILE", Soft: 32, Hard: 64}}
	if err := CompileRlimits(p, rl); err != nil {
		t.Fatal(err)
	}
	ops := p.Ops()
	if len(ops) != len(rl) {
		t.Fatalf("%d ops for %d entries:%s", len(ops), len(rl), dump(ops))
	}
	for i, o := range ops {
		res := map[string]uintptr{"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_CORE": unix.RLIMIT_CORE}[rl[i].Type]
		if o.Name != "prlimit64" || o.Args[0].Kind != 'i' || o.Args[0].Val != 0 || o.Args[1].Val != res ||
			binary.NativeEndian.Uint64(o.Args[2].Mem) != rl[i].Soft || binary.NativeEndian.Uint64(o.Args[2].Mem[8:]) != rl[i].Hard ||
			o.Args[3].Val != 0 {
			t.Errorf("op %d %s: want prlimit64(0, %s, {%d, %d}, NULL)", i, o, rl[i].Type, rl[i].Soft, rl[i].Hard)
		}
	}
}

// CompileSeccomp loads the given program with the given flags;
// CompileNoNewPrivileges sets no_new_privs.
func TestCompileSeccompAndNoNewPrivileges(t *testing.T) {
	if CompileSeccomp(nil, 0) != nil {
		t.Error("no filter, yet a loader")
	}
	filter := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}, {Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_KILL}}
	p := sysprog.New(9)
	CompileSeccomp(filter, unix.SECCOMP_FILTER_FLAG_TSYNC)(p)
	CompileNoNewPrivileges(p)
	ops := p.Ops()
	if len(ops) != 2 || ops[0].Name != "seccomp" || ops[0].Args[0].Val != unix.SECCOMP_SET_MODE_FILTER ||
		ops[0].Args[1].Val != unix.SECCOMP_FILTER_FLAG_TSYNC || ops[0].Args[2].Kind != 'm' ||
		binary.NativeEndian.Uint16(ops[0].Args[2].Mem) != uint16(len(filter)) {
		t.Fatalf("seccomp:%s", dump(ops))
	}
	if opt, arg := prctl(ops[1]); opt != unix.PR_SET_NO_NEW_PRIVS || arg != 1 {
		t.Errorf("no_new_privs: %s", ops[1])
	}
}
