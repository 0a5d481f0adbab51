package timerslack

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func slackOf(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skip("no timerslack_ns:", err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// Raise coarsens every thread; a process started through Fork gets the
// original slack back, one started outside it inherits the coarse one.
func TestRaiseAndFork(t *testing.T) {
	before, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || before >= Coarse {
		t.Skip("timer slack already coarse or unreadable")
	}
	Raise()
	if Original() != uint64(before) {
		t.Fatalf("Original() = %d, want %d", Original(), before)
	}
	// Other threads' slack can only be set with CAP_SYS_NICE (root).
	if os.Geteuid() == 0 {
		ents, _ := os.ReadDir("/proc/self/task")
		for _, e := range ents {
			if got := slackOf(t, "/proc/"+e.Name()+"/timerslack_ns"); got != Coarse {
				t.Errorf("thread %s: slack %d, want %d", e.Name(), got, Coarse)
			}
		}
	}
	var out []byte
	err = Fork(func() error {
		var err error
		out, err = exec.Command("cat", "/proc/self/timerslack_ns").Output()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := strconv.Atoi(strings.TrimSpace(string(out))); got != before {
		t.Errorf("a child started through Fork has slack %d, want the original %d", got, before)
	}
}
