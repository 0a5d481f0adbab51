package spawn

import (
	"debug/elf"
	"sync"
)

var (
	staticOnce sync.Once
	static     bool
)

// selfIsStatic reports whether this binary needs no ELF interpreter. Only
// a static hako can be executed inside a container's mount namespace (as
// `exec` does): a dynamic one would look for the host's ld.so and libc in
// the container's root and fail with "no such file or directory".
func selfIsStatic() bool {
	staticOnce.Do(func() {
		f, err := elf.Open("/proc/self/exe")
		if err != nil {
			return
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				return
			}
		}
		static = true
	})
	return static
}
