package sysprog

import (
	"encoding/binary"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Ops shows each op as it was compiled: names, arguments of each kind,
// registers, tolerated errnos and runner flags; structs in memory can be
// read back; a loaded program shows the same.
func TestOps(t *testing.T) {
	p := New(9)
	how := Value(p, &unix.OpenHow{Flags: unix.O_PATH, Resolve: unix.RESOLVE_IN_ROOT})
	r := p.Result(nil, unix.SYS_OPENAT2, Imm(atFDCWD), p.Str("etc/x"), how, Imm(unix.SizeofOpenHow))
	p.Call(nil, unix.SYS_MKDIRAT, R(r), p.Str(""), Imm(0o755))
	p.Tolerate(syscall.EEXIST)
	p.Call(nil, unix.SYS_UMOUNT2, p.Str("/mnt"), Imm(unix.MNT_DETACH))
	p.TolerateAll()
	p.Signal('U')
	p.Wait(nil)
	from := p.Len()
	p.Call(nil, unix.SYS_GETPID)
	p.OnlyRaw(from)
	argv, _ := p.StrList([]string{"sh", "-c"})
	p.Stage("why", 7, R(r), argv)
	p.Call(nil, 999)

	want := []string{
		`r1 = openat2(0xffffffffffffff9c, "etc/x", mem+0x0, 0x18)`,
		`mkdirat(r1, "", 0x1ed) tolerating EEXIST`,
		`umount2("/mnt", 0x2) tolerating any error`,
		`sendto(0x9, "U", 0x1, 0x4000)`,
		`Wait(0x9)`,
		`getpid() [raw only]`,
		`Stage(0x7, r1, mem+0x48)`,
		`syscall_999()`,
	}
	check := func(what string, ops []OpInfo) {
		t.Helper()
		var got []string
		for _, o := range ops {
			got = append(got, o.String())
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s:\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		o := ops[0]
		if o.Nr != unix.SYS_OPENAT2 || o.Out != r || o.Args[2].Kind != 'm' || len(o.Args[2].Mem) < unix.SizeofOpenHow {
			t.Fatalf("%s: openat2 %+v", what, o)
		}
		if res := binary.NativeEndian.Uint64(o.Args[2].Mem[16:]); res != unix.RESOLVE_IN_ROOT {
			t.Errorf("%s: open_how.resolve %#x", what, res)
		}
		if s, ok := o.Args[1].Str(); !ok || s != "etc/x" {
			t.Errorf("%s: Str %q %v", what, s, ok)
		}
		if _, ok := o.Args[0].Str(); ok {
			t.Errorf("%s: a constant read as a string", what)
		}
		if ops[4].Nr != 0 || ops[4].Name != "Wait" || !ops[5].RawOnly || ops[5].GoOnly {
			t.Errorf("%s: %+v %+v", what, ops[4], ops[5])
		}
		// The argv array's slots point at the strings.
		if ss, ok := ops[6].Args[2].Strs(); !ok || !slices.Equal(ss, []string{"sh", "-c"}) {
			t.Errorf("%s: argv %q %v", what, ss, ok)
		}
		if _, ok := ops[0].Args[1].Strs(); ok {
			t.Errorf("%s: a string read as an array", what)
		}
	}
	check("compiled", p.Ops())
	// Ops is read-only: changing what it returned changes nothing.
	ops := p.Ops()
	ops[0].Args[1].Mem[0] = 'X'
	check("after a change of Ops' copy", p.Ops())
	p.load()
	check("loaded", p.Ops())
}
