package sysprog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"unsafe"
)

// The wire form of a program, for the Go runner: everything but the
// parent's Fail functions (failures come back as op indices, which the
// parent turns into its errors). Integers are in the host's byte order:
// the Go runner is this binary on this machine.
//
//	"hako-sysprog 1\n"
//	syncFD, nregs, handover, len(needsGo), needsGo
//	len(ops), each: nr (8), out (1), flags (1), ok[0..1] (4 each), 6 × (kind (1), val (8))
//	len(mem), mem
//	len(relocs), each offset (4)
var wireMagic = []byte("hako-sysprog 1\n")

// maxWire bounds a program on the wire (a seccomp program of 65535
// instructions is 512 KiB).
const maxWire = 16 << 20

// Marshal is the program's wire form. Call it before the program is
// loaded (Start), or never on that program.
func (p *Program) Marshal() []byte {
	if p.loaded {
		panic("sysprog: Marshal of a loaded program")
	}
	ne := binary.NativeEndian
	b := make([]byte, 0, len(wireMagic)+64+len(p.ops)*70+len(p.mem)+4*len(p.relocs))
	b = append(b, wireMagic...)
	for _, v := range []int{p.syncFD, p.nregs, p.handover, len(p.needsGo)} {
		b = ne.AppendUint32(b, uint32(int32(v)))
	}
	b = append(b, p.needsGo...)
	b = ne.AppendUint32(b, uint32(len(p.ops)))
	for _, o := range p.ops {
		b = ne.AppendUint64(b, uint64(o.nr))
		b = append(b, byte(o.out), o.flags)
		b = ne.AppendUint32(b, uint32(o.ok[0]))
		b = ne.AppendUint32(b, uint32(o.ok[1]))
		for _, a := range o.args {
			b = append(b, byte(a.kind))
			b = ne.AppendUint64(b, uint64(a.val))
		}
	}
	b = ne.AppendUint32(b, uint32(len(p.mem)))
	b = append(b, p.mem...)
	b = ne.AppendUint32(b, uint32(len(p.relocs)))
	for _, r := range p.relocs {
		b = ne.AppendUint32(b, r)
	}
	return b
}

var errWire = errors.New("sysprog: a program on the wire is malformed")

type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errWire
		return make([]byte, min(max(n, 0), 16)) // callers read at most 8 bytes of it
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *wireReader) u32() uint32 { return binary.NativeEndian.Uint32(r.take(4)) }
func (r *wireReader) i32() int    { return int(int32(r.u32())) }
func (r *wireReader) u64() uint64 { return binary.NativeEndian.Uint64(r.take(8)) }

// Unmarshal reads a program from its wire form, checking that every
// register, memory offset and pointer stays inside the program.
func Unmarshal(b []byte) (*Program, error) {
	if len(b) > maxWire {
		return nil, fmt.Errorf("%w: %d bytes", errWire, len(b))
	}
	r := &wireReader{b: b}
	if string(r.take(len(wireMagic))) != string(wireMagic) {
		return nil, fmt.Errorf("%w: not a program of this hako", errWire)
	}
	p := &Program{}
	p.syncFD, p.nregs, p.handover = r.i32(), r.i32(), r.i32()
	p.needsGo = string(r.take(r.i32()))
	n := int(r.u32())
	if r.err != nil || n > len(r.b)/70 || p.nregs < 0 || p.nregs > MaxRegs {
		return nil, errWire
	}
	p.ops = make([]op, n)
	for i := range p.ops {
		o := &p.ops[i]
		o.nr = uintptr(r.u64())
		hdr := r.take(2)
		o.out, o.flags = Reg(hdr[0]), hdr[1]
		o.ok = [2]syscall.Errno{syscall.Errno(r.u32()), syscall.Errno(r.u32())}
		for j := range o.args {
			o.args[j] = Arg{kind: argKind(r.take(1)[0]), val: uintptr(r.u64())}
		}
	}
	p.mem = append([]byte(nil), r.take(int(r.u32()))...)
	nrel := int(r.u32())
	if r.err != nil || nrel > len(r.b)/4 {
		return nil, errWire
	}
	p.relocs = make([]uint32, nrel)
	for i := range p.relocs {
		p.relocs[i] = r.u32()
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errWire
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	p.fails = make([]Fail, len(p.ops))
	return p, nil
}

// check refuses a program whose registers, memory arguments or pointers
// leave it.
func (p *Program) check() error {
	size := uintptr(len(p.mem))
	bad := func(i int, what string) error { return fmt.Errorf("%w: op %d: %s", errWire, i, what) }
	for i, o := range p.ops {
		if int(o.out) > p.nregs {
			return bad(i, "register out of range")
		}
		for _, a := range o.args {
			switch a.kind {
			case kindImm:
			case kindReg:
				if a.val > uintptr(p.nregs) {
					return bad(i, "register out of range")
				}
			case kindMem:
				if a.val >= size && !(a.val == 0 && size == 0) {
					return bad(i, "memory argument out of range")
				}
			default:
				return bad(i, "unknown argument kind")
			}
		}
	}
	if p.handover < -1 || p.handover >= len(p.ops) || p.handover >= 0 && p.ops[p.handover].nr != opHandover {
		return fmt.Errorf("%w: handover", errWire)
	}
	for _, slot := range p.relocs {
		if uintptr(slot)+unsafe.Sizeof(uintptr(0)) > size || slot%8 != 0 {
			return fmt.Errorf("%w: pointer slot out of range", errWire)
		}
		if *(*uintptr)(unsafe.Pointer(&p.mem[slot])) >= size {
			return fmt.Errorf("%w: pointer out of range", errWire)
		}
	}
	return nil
}
