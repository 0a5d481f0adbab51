package arch

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMethodDeadCodeElimination links hako and hako-image as `make build`
// does, with the linker's dependency dump, and fails when a reachable
// function calls reflect.Value.Method or MethodByName with a name the
// linker cannot see (it marks the caller <ReflectMethod>). From then on the
// linker keeps every exported method of every type that reaches an
// interface, whether called or not: one text/template execution (cobra's
// SetVersionTemplate) made the runtime binary 11.8 MB instead of 9.7 MB,
// and since this kernel maps a binary a large folio at a time, it cost
// 0.9 MB of peak RSS and 2 ms per run (docs/performance.md, 9edc27d).
//
// This is the one check in test/arch that links: reachability is the
// linker's to decide. On a warm build cache (after `make build`, as in
// `make test`) it takes about two seconds.
func TestMethodDeadCodeElimination(t *testing.T) {
	if testing.Short() {
		t.Skip("links hako and hako-image")
	}
	// One go command links both, in parallel; each binary's dump follows
	// a line "# import/path" on its stderr.
	b := exec.Command("go", "build", "-tags", tags, "-ldflags=-dumpdep", "-o", t.TempDir()+"/",
		mod+"cmd/hako", mod+"cmd/hako-image")
	b.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out bytes.Buffer
	b.Stderr = &out
	if err := b.Run(); err != nil {
		t.Fatalf("go build: %v\n%.2000s", err, out.String())
	}
	dumps := map[string]string{}
	for _, sec := range strings.Split("\n"+out.String(), "\n# ")[1:] {
		head, body, _ := strings.Cut(sec, "\n")
		dumps[strings.TrimPrefix(head, mod+"cmd/")] = body
	}
	for _, cmd := range []string{"hako", "hako-image"} {
		dump := dumps[cmd]
		if !strings.Contains(dump, "runtime.main") {
			t.Fatalf("go build -ldflags=-dumpdep printed no dependency dump for %s; the check cannot run: %.500s", cmd, out.String())
		}
		n := 0
		s := bufio.NewScanner(strings.NewReader(dump))
		s.Buffer(nil, 1<<20)
		for s.Scan() {
			if line := s.Text(); strings.Contains(line, "<ReflectMethod>") {
				n++
				if n <= 5 {
					t.Errorf("%s: %s", cmd, line)
				}
			}
		}
		if n > 0 {
			t.Errorf("%s: %d reachable calls disable the linker's method dead-code elimination; the caller is on the left of each line (text/template's Execute is the usual one: avoid cobra's Set*Template)", cmd, n)
		}
	}
}
