package e2e

import (
	"os"
	"strings"
	"testing"
)

// Socket activation: fds announced by LISTEN_FDS reach the container at 3..,
// and the process learns LISTEN_FDS and LISTEN_PID=1 (systemd's contract).
func TestListenFDs(t *testing.T) { forRunners(t, testListenFDs) }

func testListenFDs(t *testing.T, e *env) {
	b := e.bundle([]string{"sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; ls /proc/self/fd | tr '\\n' ' '; echo; read line <&3; echo $line"}, nil)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("from-fd-3\n")
	w.Close()
	cmd := e.command("run", "--bundle", b, "listen")
	cmd.ExtraFiles = []*os.File{r}
	cmd.Env = append(cmd.Env, "LISTEN_FDS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) < 3 || lines[0] != "1 1" || lines[2] != "from-fd-3" {
		t.Fatalf("container saw:\n%s", out)
	}
	if f := strings.Fields(lines[1]); len(f) != 5 { // 0 1 2 3 and ls's own directory fd
		t.Errorf("fds inside: %v", f)
	}
}
