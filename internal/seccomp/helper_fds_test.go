package seccomp_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testutil"
)

// hako-seccomp closes every descriptor but stdio it inherited before its
// Go runtime starts: hako passes it none, but may hold some without
// close-on-exec from its own caller.
func TestHelperClosesInheritedFDs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the helper")
	}
	marker, err := os.Create(filepath.Join(t.TempDir(), "inherited-marker"))
	if err != nil {
		t.Fatal(err)
	}
	defer marker.Close()
	cmd := exec.Command(testutil.SeccompHelper(t))
	stdin, err := cmd.StdinPipe() // held open: the helper waits for its request
	if err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{marker}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	fds := func() []string {
		var links []string
		dir := fmt.Sprintf("/proc/%d/fd/", cmd.Process.Pid)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			l, _ := os.Readlink(dir + e.Name())
			links = append(links, l)
		}
		return links
	}
	for deadline := time.Now().Add(5 * time.Second); slices.Contains(fds(), marker.Name()); {
		if time.Now().After(deadline) {
			t.Fatalf("the helper still holds the inherited %s: %q", marker.Name(), fds())
		}
		time.Sleep(time.Millisecond)
	}
}
