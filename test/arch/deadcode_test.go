package arch

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMethodDeadCodeElimination links each binary with the linker's
// dependency dump and fails when a reachable function calls
// reflect.Value.Method or MethodByName with a name the linker cannot see
// (it marks the caller <ReflectMethod>). From then on the linker keeps every
// exported method of every type that reaches an interface, whether called
// or not: one text/template execution (cobra's SetVersionTemplate) made the
// runtime binary 11.8 MB instead of 9.7 MB, and since this kernel maps a
// binary a large folio at a time, it cost 0.9 MB of peak RSS and 2 ms per
// run (README, Performance).
func TestMethodDeadCodeElimination(t *testing.T) {
	if testing.Short() {
		t.Skip("links hako and hako-image")
	}
	for _, cmd := range []string{"hako", "hako-image"} {
		t.Run(cmd, func(t *testing.T) {
			// The version makes the link unique: the go command would
			// otherwise reuse a cached binary and the linker print nothing.
			ldflags := fmt.Sprintf("-dumpdep -X %sinternal/cli/clibase.Version=deadcode-%d", mod, time.Now().UnixNano())
			b := exec.Command("go", "build", "-tags", "osusergo,netgo", "-ldflags="+ldflags,
				"-o", filepath.Join(t.TempDir(), cmd), mod+"cmd/"+cmd)
			b.Env = append(os.Environ(), "CGO_ENABLED=0")
			var dump bytes.Buffer
			b.Stderr = &dump
			if err := b.Run(); err != nil {
				t.Fatalf("go build %s: %v\n%.2000s", cmd, err, dump.String())
			}
			n := 0
			s := bufio.NewScanner(bytes.NewReader(dump.Bytes()))
			s.Buffer(nil, 1<<20)
			for s.Scan() {
				if line := s.Text(); strings.Contains(line, "<ReflectMethod>") {
					n++
					if n <= 5 {
						t.Errorf("%s: %s", cmd, line)
					}
				}
			}
			if n == 0 && !strings.Contains(dump.String(), "runtime.main") {
				t.Fatalf("go build -ldflags=-dumpdep printed no dependency dump for %s; the check cannot run: %.500s", cmd, dump.String())
			}
			if n > 0 {
				t.Errorf("%s: %d reachable calls disable the linker's method dead-code elimination; the caller is on the left of each line (text/template's Execute is the usual one: avoid cobra's Set*Template)", cmd, n)
			}
		})
	}
}
