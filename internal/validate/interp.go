package validate

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"strings"
)

// interpreter returns the program the kernel loads to run the file at host
// path hp: the "#!" line of a script (with its first argument, for
// "#!/usr/bin/env NAME"), or the PT_INTERP loader of a dynamic ELF binary.
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
		return "elf", elfInterp(f), ""
	}
	return "", "", ""
}

// elfInterp reads PT_INTERP; debug/elf is guarded because a hostile file
// must never crash the validator.
func elfInterp(f io.ReaderAt) (interp string) {
	defer func() {
		if recover() != nil {
			interp = ""
		}
	}()
	ef, err := elf.NewFile(f)
	if err != nil {
		return ""
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP && p.Filesz > 0 && p.Filesz < 4096 {
			b, err := io.ReadAll(io.LimitReader(p.Open(), int64(p.Filesz)))
			if err != nil {
				return ""
			}
			return string(bytes.TrimRight(b, "\x00"))
		}
	}
	return ""
}
