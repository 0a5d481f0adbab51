package validate

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// makeBundle writes a bundle in a temp dir: config.json holding config, and
// a small synthetic rootfs (no busybox needed) with /bin/sh, an
// /etc/passwd with root and app, a script whose interpreter is missing,
// and, when the host has one, a dynamically linked program whose loader is
// missing.
func makeBundle(t testing.TB, config []byte) string {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "sbin", "usr/bin", "etc", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := []struct {
		name, content string
		mode          os.FileMode
	}{
		{"bin/sh", "", 0o755},
		{"bin/ls", "", 0o755},
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", 0o644},
		{"entrypoint.sh", "#!/bin/bash\necho hello\n", 0o755},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(rootfs, f.name), []byte(f.content), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if src := dynamicHostProgram(); src != "" {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rootfs, "bin/dynamic"), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/foreign"), foreignELF(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigName), config, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// foreignELF is the 64-byte header of an ELF executable for another
// architecture than this one (aarch64, or x86-64 on arm64), with no program
// headers.
func foreignELF() []byte {
	m := elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		m = elf.EM_X86_64
	}
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(m))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	binary.LittleEndian.PutUint16(h[54:], 56) // e_phentsize
	binary.LittleEndian.PutUint16(h[58:], 64) // e_shentsize
	return h
}

// dynamicHostProgram finds a dynamically linked program on the host.
func dynamicHostProgram() string {
	for _, p := range []string{"/usr/bin/true", "/bin/true", "/usr/bin/env"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				f.Close()
				return p
			}
		}
		f.Close()
	}
	return ""
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
