package validate

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"runtime"
	"strings"
)

// interpreter returns the program the kernel loads to run the file at host
// path hp: the "#!" line of a script (with its first argument, for
// "#!/usr/bin/env NAME"), or the PT_INTERP loader of a dynamic ELF binary
// (arg is then the ELF machine, e.g. EM_AARCH64).
func interpreter(hp string) (kind, interp, arg string) {
	f, err := os.Open(hp)
	if err != nil {
		return "", "", ""
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if bytes.HasPrefix(head, []byte("#!")) {
		line := string(head[2:])
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			return "", "", ""
		}
		if len(fields) > 1 {
			arg = fields[1]
		}
		return "script", fields[0], arg
	}
	if bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		interp, machine := elfInfo(f)
		return "elf", interp, machine
	}
	return "", "", ""
}

// elfInfo reads PT_INTERP and the machine; debug/elf is guarded because a
// hostile file must never crash the validator.
func elfInfo(f io.ReaderAt) (interp, machine string) {
	defer func() {
		if recover() != nil {
			interp, machine = "", ""
		}
	}()
	ef, err := elf.NewFile(f)
	if err != nil {
		return "", ""
	}
	machine = ef.Machine.String()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP && p.Filesz > 0 && p.Filesz < 4096 {
			b, err := io.ReadAll(io.LimitReader(p.Open(), int64(p.Filesz)))
			if err != nil {
				return "", machine
			}
			return string(bytes.TrimRight(b, "\x00")), machine
		}
	}
	return "", machine
}

// nativeMachines are the ELF machines this architecture runs natively.
var nativeMachines = map[string][]elf.Machine{
	"amd64": {elf.EM_X86_64, elf.EM_386}, "386": {elf.EM_386}, "arm64": {elf.EM_AARCH64, elf.EM_ARM},
	"arm": {elf.EM_ARM}, "ppc64le": {elf.EM_PPC64}, "ppc64": {elf.EM_PPC64}, "s390x": {elf.EM_S390},
	"riscv64": {elf.EM_RISCV}, "loong64": {elf.EM_LOONGARCH}, "mips64le": {elf.EM_MIPS}, "mips64": {elf.EM_MIPS},
}

// runsNatively reports whether an ELF machine runs on this architecture
// (true when unknown: no false alarms).
func runsNatively(machine string) bool {
	ms, ok := nativeMachines[runtime.GOARCH]
	if !ok || machine == "" {
		return true
	}
	for _, m := range ms {
		if m.String() == machine {
			return true
		}
	}
	return false
}

// binfmtHandlers reports whether binfmt_misc has handlers registered (for
// instance qemu-user for foreign architectures).
func binfmtHandlers() bool {
	entries, err := os.ReadDir("/proc/sys/fs/binfmt_misc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name() != "register" && e.Name() != "status" {
			return true
		}
	}
	return false
}
